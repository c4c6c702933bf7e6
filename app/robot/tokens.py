"""Text → weighted features for the robot's matcher, in Chinese and English, offline.

A question becomes a bag of features in a few namespaces, so that each way two texts can be
"the same" counts on its own (the namespace is the feature's first letter and a colon):

- ``w:`` words: rjieba's words for Chinese (by their toneless pinyin, so 包油 is 包邮),
  Snowball-stemmed lower-case words for other scripts, and the shop's own words and synonym
  groups (a group is one feature, so 运费险 and 退货运费险 are the same word both ways), and
  the built-in glossary's groups (``app.robot.glossary``) as one more word ``w:=…`` beside
  the term's own (乌鲁木齐 → ``w:=偏远地区``, ``refund`` → ``w:=退款``);
- ``c:`` / ``b:`` Chinese characters and character bigrams: segmenters split 退货运费险 as
  退/货运费/险, the bigrams still find 运费 and 费险;
- ``p:`` the toneless pinyin of each Chinese character bigram: homophone typos (包油 for 包邮,
  七天无里由) sound the same;
- ``g:`` character trigrams of Latin words, so English typos (recieve) still match.

Buyers type pinyin initials (``by`` for 包邮, ``hdfk`` for 货到付款): ``initials`` lists what
each Chinese 2–4 character string of a text abbreviates to, and ``spell_out`` writes such
words back in Chinese before the features are taken.

Shop words are never added to rjieba's global dictionary: the text is split on them first, so
two shops' indexes stay independent.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

import rjieba
import Stemmer
from pypinyin import Style, lazy_pinyin

from app.robot import glossary

# Only the start of a message is matched: a question is short, and the work stays bounded for
# a pasted 100 kB text.
MAX_CHARS = 500

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_HAN = re.compile(rf"[{_CJK}]")
_LATIN_WORD = re.compile(r"(?<![a-z])[a-z]+(?![a-z])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")


# Language facts, not fitted to any question set: function words carry no topic.
def word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STOP_ZH = word_set(
    "的 了 吗 呢 吧 啊 呀 哦 噢 嘛 么 哈 啦 喔 嗯 哎 是 在 我 你 您 他 她 它 们 我们 你们 "
    "这 那 这个 那个 就 都 也 还 又 和 与 或 及 请 一下 有没有 可以 能 能不能 可不可以 亲 "
    "谢谢 么么哒 怎么 怎么办 怎样 如何 什么 多少 哪 哪里 为什么 请问 想 想问 问 问下 问一下 "
    "一个 个 要 会"
)
_STOP_EN = word_set(
    "a an the is are am was were be been being do does did i me my we our you your u ur it its "
    "this that these those to of in on at for with and or but if so can could would should will "
    "shall may might must have has had hi hello hey please pls plz thanks thank what how when "
    "where which who why there here any some just about from by as not no im i'm"
)
_STEMMERS = threading.local()  # PyStemmer's objects are not thread-safe: one per thread


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        stemmer = _STEMMERS.english = Stemmer.Stemmer("english")
    return stemmer.stemWord(word)


@lru_cache(maxsize=65536)
def _pinyin(run: str) -> tuple[str, ...]:
    """One toneless syllable per character of a Chinese run (words give polyphones context)."""
    syllables = lazy_pinyin(run, style=Style.NORMAL, errors=lambda chars: ["?"] * len(chars))
    return tuple(syllables) if len(syllables) == len(run) else tuple("?" * len(run))


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, no control characters, at most MAX_CHARS."""
    text = unicodedata.normalize("NFKC", text[: MAX_CHARS * 2])
    return _CONTROL.sub(" ", text).lower()[:MAX_CHARS]


class Vocabulary:
    """A shop's own words and synonym groups, matched before any segmentation."""

    def __init__(self, synonyms: Iterable[Sequence[str]] = (), words: Iterable[str] = ()):
        canonical: dict[str, str] = {}
        for group in synonyms:
            terms = [normalise(t).strip() for t in group if t and normalise(t).strip()]
            if len(terms) < 2:
                continue
            # The group's name is its first term; a term already in a group keeps its group.
            name = canonical.get(terms[0], terms[0])
            for term in terms:
                canonical.setdefault(term, name)
        for word in words:
            term = normalise(word).strip() if word else ""
            if term:
                canonical.setdefault(term, term)
        self.canonical = canonical
        self.pattern = _span_pattern(canonical) if canonical else None


def _span_pattern(terms: Iterable[str]) -> re.Pattern[str]:
    """One regular expression finding the terms, longest first (退货运费险 before 运费险), Latin
    terms only as whole words (sf, not sfx). The terms share their prefixes (a trie), so a
    position that starts no term fails at its first character: hundreds of terms stay cheap."""
    latin: dict = {}
    other: dict = {}
    for term in terms:
        node = latin if term[0].isascii() and term[0].isalnum() else other
        for char in term:
            node = node.setdefault(char, {})
        node[""] = {}
    parts = [r"(?<![a-z0-9])" + _trie(latin, "")] if latin else []
    return re.compile("|".join(parts + ([_trie(other, "")] if other else [])))


def _trie(node: dict, last: str) -> str:
    # Longer terms before the one ending here; a Latin ending only before a non-alphanumeric.
    branches = [re.escape(char) + _trie(child, char) for char, child in node.items() if char]
    if "" in node:
        branches.append(r"(?![a-z0-9])" if last.isascii() and last.isalnum() else "")
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


EMPTY_VOCABULARY = Vocabulary()

# The built-in glossary's terms → their group's feature (its first term, marked "=").
_GLOSSARY = {normalise(t): "w:=" + group[0] for group in glossary.groups() for t in group}
_GLOSSARY_PATTERN = _span_pattern(_GLOSSARY)


def features(text: str, vocabulary: Vocabulary = EMPTY_VOCABULARY) -> Counter[str]:
    """The features of a text with their counts (the caller weighs them)."""
    counts: Counter[str] = Counter()
    text = normalise(text)
    rest = text
    if vocabulary.pattern is not None:
        for found in vocabulary.pattern.findall(text):
            counts["w:" + vocabulary.canonical[found]] += 1
        rest = vocabulary.pattern.sub(" | ", text)
    for run in _RUNS.findall(rest):
        if _HAN.match(run):
            _chinese_words(run, counts)
        else:
            _latin_word(run, counts)
    # Characters, bigrams and pinyin over the whole text, shop words included: a question that
    # writes a synonym differently still shares its characters.
    for run in _RUNS.findall(text):
        if _HAN.match(run):
            _chinese_characters(run, counts)
    for found in _GLOSSARY_PATTERN.findall(text):
        counts[_GLOSSARY[found]] += 1
    return counts


def chinese(text: str) -> bool:
    """Mostly Chinese: at least two Chinese characters for each Latin word."""
    text = normalise(text)
    han = len(_HAN.findall(text))
    return han > 0 and han >= 2 * len(_LATIN_WORD.findall(text))


def initials(text: str) -> set[tuple[str, str]]:
    """(pinyin initials, Chinese string) of every 2–4 character string of a text: 包邮 → by."""
    found = set()
    for run in _RUNS.findall(normalise(text)):
        if _HAN.match(run):
            letters = "".join(s[0] for s in _pinyin(run))
            for n in (2, 3, 4):
                found.update((letters[i : i + n], run[i : i + n]) for i in range(len(run) - n + 1))
    return found


def spell_out(text: str, abbreviations: dict[str, str], known) -> str:
    """The text with Latin words written as pinyin initials replaced by their Chinese string.
    Only when every Latin word of the text is a stop word or such initials: a sentence of real
    English ("can you ship by SF express") is left alone, and so is a word the knowledge base
    knows (``known(word)``)."""
    text = normalise(text)
    words = _LATIN_WORD.findall(text)
    meant = {w for w in words if w in abbreviations and not known(w)}
    if not meant or any(w not in meant and w not in _STOP_EN for w in words):
        return text
    return _LATIN_WORD.sub(lambda m: abbreviations.get(m[0], m[0]) if m[0] in meant else m[0], text)


def _chinese_words(run: str, counts: Counter[str]) -> None:
    for word in rjieba.cut(run):
        if word in _STOP_ZH:
            continue
        # A word by its sound: a homophone typo (包油 for 包邮) is still the same word.
        counts["w:" + (" ".join(_pinyin(word)) if len(word) > 1 else word)] += 1


def _chinese_characters(run: str, counts: Counter[str]) -> None:
    syllables = _pinyin(run)
    for i, char in enumerate(run):
        if char not in _STOP_ZH:
            counts["c:" + char] += 1
        if i + 1 < len(run):
            counts["b:" + run[i : i + 2]] += 1
            counts["p:" + syllables[i] + " " + syllables[i + 1]] += 1


def _latin_word(run: str, counts: Counter[str]) -> None:
    if run.isdigit():
        counts["w:" + run] += 1
        return
    if run in _STOP_EN:
        return
    counts["w:" + stem(run)] += 1
    if _LATIN_WORD.fullmatch(run):
        padded = f"<{run}>"
        for i in range(len(padded) - 2):
            counts["g:" + padded[i : i + 3]] += 1
