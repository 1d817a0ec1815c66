#include "sieve/data/trifashion/text.h"

#include <algorithm>
#include <array>
#include <numeric>
#include <set>
#include <string>

#include "sieve/core/error.h"

namespace sieve::data::trifashion {
namespace {

constexpr int kCaptionTemplates = 3;
constexpr int kGlossCaptionTemplate = 1;  // "top-left: a ...; bottom-right: ...": a gloss reads last
constexpr int kOtherSceneTries = 20;

struct Mention {
  int position = 0;
  int cls = 0;
  Phrase phrase;
};

std::string position_name(int position) { return std::string(kPositionNames[position]); }

// "a, b and c"
std::string join_list(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += i + 1 == parts.size() ? " and " : ", ";
    out += parts[i];
  }
  return out;
}

std::string render_caption(int template_id, const std::vector<Mention>& mentions) {
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < mentions.size(); ++i) {
    const Mention& m = mentions[i];
    const std::string where = position_name(m.position);
    switch (template_id) {
      case 0: parts.push_back(m.phrase.indefinite + " " + where); break;                // a sandal top-left
      case 1: parts.push_back(where + ": " + m.phrase.indefinite); break;               // top-left: a sandal
      default: parts.push_back(m.phrase.indefinite + " in the " + where); break;        // a sandal in the top-left
    }
  }
  if (template_id == 1) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) out += (i > 0 ? "; " : "") + parts[i];
    return out;
  }
  return (template_id == 2 ? "there is " : "") + join_list(parts);
}

bool claims_hold(const Scene& scene, const std::vector<Claim>& claims) {
  return std::all_of(claims.begin(), claims.end(),
                     [&](const Claim& c) { return scene.classes[c.position] == c.cls; });
}

class Generator {
 public:
  Generator(std::span<const Scene> scenes, Split split, const Phrasings& phrasings, core::Rng& rng)
      : scenes_(scenes), split_(split), phrasings_(phrasings), rng_(rng),
        scene_captions_(scenes.size()) {
    const auto vocabulary = answer_vocabulary();
    for (auto& per_type : answer_counts_)
      for (auto& counts : per_type) counts.assign(vocabulary.size(), 0);
  }

  SplitText run(bool heldout, int questions_per_type) {
    for (std::size_t s = 0; s < scenes_.size(); ++s) {
      std::array<int, kPositionCount> order = shuffled_positions();
      add_caption(s, std::vector<int>(order.begin(), order.end()), false);
      order = shuffled_positions();
      add_caption(s, std::vector<int>(order.begin(), order.begin() + 2 + rng_.below(2)), false);
      if (heldout) {
        order = shuffled_positions();
        add_caption(s, std::vector<int>(order.begin(), order.begin() + 2 + rng_.below(3)), true);
      }
      std::set<std::string> asked;
      for (int round = 0; round < questions_per_type; ++round)
        for (int t = 0; t < kQuestionTypeCount; ++t) ask(s, static_cast<QuestionType>(t), false, asked);
      if (heldout)
        for (const QuestionType t : {QuestionType::kWhere, QuestionType::kYesNo, QuestionType::kCount})
          ask(s, t, true, asked);
    }
    for (std::size_t s = 0; s < scenes_.size(); ++s) {
      add_pairs(s, false);
      if (heldout) add_pairs(s, true);
    }
    return std::move(out_);
  }

 private:
  std::array<int, kPositionCount> shuffled_positions() {
    std::array<int, kPositionCount> order = {0, 1, 2, 3};
    for (int i = kPositionCount - 1; i > 0; --i) std::swap(order[i], order[rng_.below(i + 1)]);
    return order;
  }

  template <typename T>
  const T& pick(const std::vector<T>& options) {
    SIEVE_CHECK(!options.empty(), "pick from nothing");
    return options[rng_.below(options.size())];
  }

  // Ordinary text: the base word, or (one mention in four, when the class has any) a training
  // synonym. Held-out text: a held-out synonym or the gloss (NOTE [Held-out phrasings]).
  Phrase phrase_for(int cls, bool heldout) {
    const ClassPhrasings& p = phrasings_[cls];
    if (heldout) {
      const std::size_t choice = rng_.below(p.heldout_synonyms.size() + 1);
      return choice < p.heldout_synonyms.size() ? word_phrase(p.heldout_synonyms[choice]) : gloss_phrase(p.gloss);
    }
    if (!p.train_synonyms.empty() && rng_.below(4) == 0) return word_phrase(pick(p.train_synonyms));
    return word_phrase(p.base);
  }

  // The first mention of a held-out caption carries the held-out phrasing; the others are ordinary.
  void add_caption(std::size_t s, const std::vector<int>& positions, bool heldout) {
    std::vector<Mention> mentions;
    for (std::size_t i = 0; i < positions.size(); ++i) {
      const int cls = scenes_[s].classes[positions[i]];
      mentions.push_back({positions[i], cls, phrase_for(cls, heldout && i == 0)});
    }
    const bool has_gloss = std::any_of(mentions.begin(), mentions.end(), [](const Mention& m) { return m.phrase.is_gloss; });
    const int template_id = has_gloss ? kGlossCaptionTemplate : static_cast<int>(rng_.below(kCaptionTemplates));
    Caption caption;
    caption.id = static_cast<std::int64_t>(out_.captions.size());
    caption.split = split_;
    caption.scene = static_cast<std::int64_t>(s);
    caption.text = render_caption(template_id, mentions);
    for (const Mention& m : mentions) caption.items.push_back({m.position, m.cls});
    caption.template_id = template_id;
    caption.heldout = heldout;
    scene_captions_[s].push_back(caption.id);
    out_.captions.push_back(std::move(caption));
    mentions_.push_back(std::move(mentions));
  }

  // The answers `scene` can support for a question of `type`.
  std::vector<int> achievable_answers(const Scene& scene, QuestionType type) const {
    std::vector<int> answers;
    switch (type) {
      case QuestionType::kWhat:
        for (int c = 0; c < kClassCount; ++c)
          if (scene.count_of(c) > 0) answers.push_back(class_answer(c));
        break;
      case QuestionType::kWhere:
        for (int p = 0; p < kPositionCount; ++p)
          if (scene.count_of(scene.classes[p]) == 1) answers.push_back(position_answer(p));
        break;
      case QuestionType::kYesNo:
        answers = {yes_no_answer(true), yes_no_answer(false)};
        break;
      case QuestionType::kCount:
        for (int n = 0; n <= kPositionCount; ++n)
          for (int c = 0; c < kClassCount; ++c)
            if (scene.count_of(c) == n) {
              answers.push_back(count_answer(n));
              break;
            }
        break;
    }
    return answers;
  }

  // NOTE [Answer balance] in text.h.
  void ask(std::size_t s, QuestionType type, bool heldout, std::set<std::string>& asked) {
    const Scene& scene = scenes_[s];
    std::vector<int> candidates = achievable_answers(scene, type);
    if (candidates.empty()) return;
    for (std::size_t i = candidates.size() - 1; i > 0; --i) std::swap(candidates[i], candidates[rng_.below(i + 1)]);
    std::vector<std::int64_t>& counts = answer_counts_[heldout][static_cast<int>(type)];
    const int answer = *std::min_element(candidates.begin(), candidates.end(),
                                         [&](int a, int b) { return counts[a] < counts[b]; });
    std::int64_t rarest = INT64_MAX;
    for (const int a : answers_of_type(type)) rarest = std::min(rarest, counts[a]);
    if (counts[answer] > rarest + kAnswerSlack) return;

    std::string text = question_text(scene, type, answer, heldout);
    if (!asked.insert(text).second) return;
    ++counts[answer];
    Question question;
    question.id = static_cast<std::int64_t>(out_.questions.size());
    question.split = split_;
    question.scene = static_cast<std::int64_t>(s);
    question.type = type;
    question.text = std::move(text);
    question.answer = answer;
    question.heldout = heldout;
    out_.questions.push_back(std::move(question));
  }

  std::vector<int> classes_where(const Scene& scene, auto&& predicate) const {
    std::vector<int> classes;
    for (int c = 0; c < kClassCount; ++c)
      if (predicate(scene.count_of(c))) classes.push_back(c);
    return classes;
  }

  std::string question_text(const Scene& scene, QuestionType type, int answer, bool heldout) {
    switch (type) {
      case QuestionType::kWhat: {
        std::vector<int> positions;
        for (int p = 0; p < kPositionCount; ++p)
          if (class_answer(scene.classes[p]) == answer) positions.push_back(p);
        const std::string where = position_name(pick(positions));
        static const std::array<std::string, 3> forms = {"what is ", "what is in the ", "which item is "};
        return forms[rng_.below(forms.size())] + where + "?";
      }
      case QuestionType::kWhere: {
        const int position = answer - position_answer(0);
        const Phrase phrase = phrase_for(scene.classes[position], heldout);
        return (rng_.below(2) == 0 ? "where is " : "in which position is ") + phrase.definite + "?";
      }
      case QuestionType::kYesNo: {
        const bool yes = answer == yes_no_answer(true);
        if (rng_.below(2) == 0) {  // presence anywhere in the scene
          const int cls = pick(classes_where(scene, [&](int n) { return yes ? n > 0 : n == 0; }));
          return "is there " + phrase_for(cls, heldout).indefinite + "?";
        }
        const int position = static_cast<int>(rng_.below(kPositionCount));
        int cls = scene.classes[position];
        if (!yes) {
          const int other = static_cast<int>(rng_.below(kClassCount - 1));
          cls = other >= cls ? other + 1 : other;
        }
        const std::string phrase = phrase_for(cls, heldout).indefinite;
        const std::string where = position_name(position);
        return rng_.below(2) == 0 ? "is the " + where + " item " + phrase + "?"
                                  : "is there " + phrase + " in the " + where + "?";
      }
      case QuestionType::kCount: {
        const int n = answer - count_answer(0);
        const int cls = pick(classes_where(scene, [&](int count) { return count == n; }));
        const Phrase phrase = phrase_for(cls, heldout);
        if (phrase.is_gloss) return "how many items are " + phrase.indefinite + "?";
        return rng_.below(2) == 0 ? "how many " + phrase.plural + " are there?" : "how many " + phrase.plural + "?";
      }
    }
    SIEVE_CHECK(false, "unknown question type");
  }

  void add_pair(std::size_t s, std::string text, bool match, PairKind kind, std::int64_t caption, bool heldout) {
    MatchingPair pair;
    pair.id = static_cast<std::int64_t>(out_.pairs.size());
    pair.split = split_;
    pair.scene = static_cast<std::int64_t>(s);
    pair.text = std::move(text);
    pair.match = match;
    pair.kind = kind;
    pair.caption = caption;
    pair.heldout = heldout;
    out_.pairs.push_back(std::move(pair));
  }

  std::vector<std::int64_t> captions_of(std::size_t s, bool heldout) const {
    std::vector<std::int64_t> ids;
    for (const std::int64_t id : scene_captions_[s])
      if (out_.captions[id].heldout == heldout) ids.push_back(id);
    return ids;
  }

  // A positive pair and one hard negative, its kind the least used so far among those possible.
  void add_pairs(std::size_t s, bool heldout) {
    const Scene& scene = scenes_[s];
    const std::vector<std::int64_t> own = captions_of(s, heldout);
    const std::int64_t positive = pick(own);
    add_pair(s, out_.captions[positive].text, true, PairKind::kPositive, positive, heldout);

    std::vector<std::int64_t> swappable;
    for (const std::int64_t id : own) {
      const auto& items = out_.captions[id].items;
      if (std::any_of(items.begin(), items.end(), [&](const Claim& c) { return c.cls != items.front().cls; }))
        swappable.push_back(id);
    }
    std::vector<PairKind> kinds = {PairKind::kChangedClass};
    if (scenes_.size() > 1) kinds.push_back(PairKind::kOtherScene);
    if (!swappable.empty()) kinds.push_back(PairKind::kSwappedPosition);
    for (std::size_t i = kinds.size() - 1; i > 0; --i) std::swap(kinds[i], kinds[rng_.below(i + 1)]);
    auto& counts = negative_counts_[heldout];
    PairKind kind = *std::min_element(kinds.begin(), kinds.end(), [&](PairKind a, PairKind b) {
      return counts[static_cast<int>(a)] < counts[static_cast<int>(b)];
    });

    if (kind == PairKind::kOtherScene) {
      for (int attempt = 0; attempt < kOtherSceneTries; ++attempt) {
        std::size_t other = rng_.below(scenes_.size() - 1);
        if (other >= s) ++other;
        const std::int64_t id = pick(captions_of(other, heldout));
        if (claims_hold(scene, out_.captions[id].items)) continue;
        ++counts[static_cast<int>(kind)];
        add_pair(s, out_.captions[id].text, false, kind, id, heldout);
        return;
      }
      kind = PairKind::kChangedClass;  // every caption tried was also true of this scene
    }
    const std::int64_t source = kind == PairKind::kSwappedPosition ? pick(swappable) : pick(own);
    std::vector<Mention> mentions = mentions_[source];
    if (kind == PairKind::kSwappedPosition) {
      std::size_t a = 0;
      std::size_t b = 0;
      do {
        a = rng_.below(mentions.size());
        b = rng_.below(mentions.size());
      } while (mentions[a].cls == mentions[b].cls);
      std::swap(mentions[a].cls, mentions[b].cls);
      std::swap(mentions[a].phrase, mentions[b].phrase);
    } else {
      // A held-out caption's first mention is its held-out one; its replacement is held-out too,
      // so within the held-out subset a held-out phrasing does not give the label away.
      const std::size_t index = rng_.below(mentions.size());
      Mention& m = mentions[index];
      const int other = static_cast<int>(rng_.below(kClassCount - 1));
      m.cls = other >= scene.classes[m.position] ? other + 1 : other;
      m.phrase = phrase_for(m.cls, heldout && index == 0);
    }
    ++counts[static_cast<int>(kind)];
    const bool has_gloss = std::any_of(mentions.begin(), mentions.end(), [](const Mention& m) { return m.phrase.is_gloss; });
    const int template_id = has_gloss ? kGlossCaptionTemplate : out_.captions[source].template_id;
    add_pair(s, render_caption(template_id, mentions), false, kind, source, heldout);
  }

  std::span<const Scene> scenes_;
  Split split_;
  const Phrasings& phrasings_;
  core::Rng& rng_;
  SplitText out_;
  std::vector<std::vector<Mention>> mentions_;             // per caption
  std::vector<std::vector<std::int64_t>> scene_captions_;  // per scene
  std::array<std::array<std::vector<std::int64_t>, kQuestionTypeCount>, 2> answer_counts_;  // [heldout][type][answer]
  std::array<std::array<std::int64_t, 4>, 2> negative_counts_{};                            // [heldout][kind]
};

}  // namespace

SplitText generate_split_text(std::span<const Scene> scenes, Split split, bool heldout, int questions_per_type,
                              const Phrasings& phrasings, core::Rng& rng) {
  return Generator(scenes, split, phrasings, rng).run(heldout, questions_per_type);
}

}  // namespace sieve::data::trifashion
