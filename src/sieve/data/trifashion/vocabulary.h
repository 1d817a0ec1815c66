// The fixed vocabulary of the trifashion data set: Fashion-MNIST's classes, the four grid
// positions, the question types and the answer vocabulary. Shared by the builder and the reader.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sieve::data::trifashion {

inline constexpr int kClassCount = 10;
inline constexpr int kPositionCount = 4;  // cells of the 2×2 grid, row-major
inline constexpr int kItemSide = 28;      // a Fashion-MNIST image
inline constexpr int kSceneSide = 2 * kItemSide;

// Fashion-MNIST's label names, as published.
inline constexpr std::array<std::string_view, kClassCount> kClassNames = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
// The word a sentence uses for each class (its base phrasing, and the spoken class name).
inline constexpr std::array<std::string_view, kClassCount> kClassWords = {
    "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"};
// The WordNet noun whose first sense gives each class's synonyms and gloss.
inline constexpr std::array<std::string_view, kClassCount> kWordNetNouns = {
    "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"};

inline constexpr std::array<std::string_view, kPositionCount> kPositionNames = {"top-left", "top-right", "bottom-left",
                                                                                "bottom-right"};

enum class QuestionType : std::uint8_t { kWhat = 0, kWhere = 1, kYesNo = 2, kCount = 3 };
inline constexpr int kQuestionTypeCount = 4;
inline constexpr std::array<std::string_view, kQuestionTypeCount> kQuestionTypeNames = {"what", "where", "yesno",
                                                                                        "count"};

// The answer vocabulary, in this order: the 10 class words, the 4 positions, "yes", "no", and
// the counts "0".."4". A question's answer_id indexes it.
std::vector<std::string> answer_vocabulary();
int class_answer(int cls);
int position_answer(int position);
int yes_no_answer(bool yes);
int count_answer(int count);
// The answer ids a question of `type` can have.
std::vector<int> answers_of_type(QuestionType type);

}  // namespace sieve::data::trifashion
