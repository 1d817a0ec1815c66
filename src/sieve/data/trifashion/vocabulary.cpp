#include "sieve/data/trifashion/vocabulary.h"

namespace sieve::data::trifashion {
namespace {

constexpr int kYesAnswer = kClassCount + kPositionCount;
constexpr int kFirstCountAnswer = kYesAnswer + 2;
constexpr int kMaxCount = kPositionCount;

}  // namespace

std::vector<std::string> answer_vocabulary() {
  std::vector<std::string> answers;
  for (const auto word : kClassWords) answers.emplace_back(word);
  for (const auto position : kPositionNames) answers.emplace_back(position);
  answers.emplace_back("yes");
  answers.emplace_back("no");
  for (int count = 0; count <= kMaxCount; ++count) answers.push_back(std::to_string(count));
  return answers;
}

int class_answer(int cls) { return cls; }
int position_answer(int position) { return kClassCount + position; }
int yes_no_answer(bool yes) { return yes ? kYesAnswer : kYesAnswer + 1; }
int count_answer(int count) { return kFirstCountAnswer + count; }

std::vector<int> answers_of_type(QuestionType type) {
  std::vector<int> ids;
  switch (type) {
    case QuestionType::kWhat:
      for (int c = 0; c < kClassCount; ++c) ids.push_back(class_answer(c));
      break;
    case QuestionType::kWhere:
      for (int p = 0; p < kPositionCount; ++p) ids.push_back(position_answer(p));
      break;
    case QuestionType::kYesNo:
      ids = {yes_no_answer(true), yes_no_answer(false)};
      break;
    case QuestionType::kCount:
      for (int n = 0; n <= kMaxCount; ++n) ids.push_back(count_answer(n));
      break;
  }
  return ids;
}

}  // namespace sieve::data::trifashion
