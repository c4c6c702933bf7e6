"""The robot's matcher on a small shop knowledge base of its own: no database, no Flask."""

from __future__ import annotations

import threading

import pytest

from app.robot.matcher import (
    DEFAULT_THRESHOLDS,
    Candidate,
    Index,
    Thresholds,
    Verdict,
    wants_person,
)

SHIPPING, FREE_SHIPPING, COD, RETURN_INSURANCE, STORE, REFUND, SHOP_NAME = range(1, 8)
KB = [
    (SHIPPING, ["默认发什么快递？", "用的哪家快递", "可以发顺丰吗"]),
    (FREE_SHIPPING, ["包邮吗？", "满多少包邮", "运费怎么算"]),
    (COD, ["支持货到付款吗？", "可以到付吗", "收货再付钱行吗"]),
    (RETURN_INSURANCE, ["有运费险吗？", "运费险怎么理赔"]),
    (STORE, ["茶叶怎么保存？", "茶叶要放冰箱吗"]),
    (REFUND, ["How long does a refund take?", "when will I get my money back"]),
    (SHOP_NAME, ["山茶小铺是正品吗", "你们是官方店吗"]),
]


@pytest.fixture(scope="module")
def index() -> Index:
    return Index.build(KB)


def top(index: Index, question: str) -> int | None:
    ranked = index.rank(question)
    return ranked[0].entry_id if ranked else None


def test_a_covered_question_is_answered_with_its_entry(index):
    verdict = index.answer("请问默认发什么快递呀")
    assert verdict == Verdict("answer", "matched", SHIPPING, verdict.confidence, verdict.candidates)
    assert 0 < verdict.confidence <= 1
    assert verdict.candidates[0] == Candidate(SHIPPING, verdict.confidence)
    assert len({c.entry_id for c in verdict.candidates}) == len(verdict.candidates) <= 3


def test_candidates_are_distinct_best_first_and_limited(index):
    ranked = index.rank("快递 包邮 运费", limit=5)
    confidences = [c.confidence for c in ranked]
    assert confidences == sorted(confidences, reverse=True)
    assert len({c.entry_id for c in ranked}) == len(ranked) <= 5
    assert len(index.rank("快递 包邮 运费", limit=1)) == 1


def test_segmentation_trap_characters_rescue_a_split_word(index):
    # rjieba cuts 退货运费险 as 退/货运费/险: the bigrams 运费 and 费险 still find the entry.
    assert top(index, "退货运费险怎么算") == RETURN_INSURANCE


def test_synonyms_match_both_ways():
    kb = [(1, ["有运费险吗"]), (2, ["可以发顺丰吗"]), (3, ["怎么开发票"])]
    plain = Index.build(kb)
    grouped = Index.build(kb, synonyms=[["运费险", "退货运费险"], ["顺丰", "SF", "sf express"]])
    assert grouped.answer("退货运费险能赔多少").entry_id == 1
    assert grouped.answer("SF express可以吗").entry_id == 2
    assert plain.answer("SF express可以吗").decision != "answer"
    assert grouped.rank("can you ship by sf")[0].entry_id == 2
    # The other way round: the entry says the long form, the visitor the short one.
    reverse = Index.build(
        [(1, ["退货运费险怎么理赔"]), (2, ["怎么开发票"])], synonyms=[["运费险", "退货运费险"]]
    )
    assert reverse.answer("运费险").entry_id == 1


def test_a_synonym_group_needs_two_terms_and_ignores_blanks():
    index = Index.build([(1, ["有运费险吗"])], synonyms=[["运费险"], ["", "  "], []])
    assert index.answer("运费险").entry_id == 1


def test_user_words_keep_a_shop_name_whole():
    kb = [(1, ["山茶小铺在哪里"]), (2, ["小铺的茶叶新鲜吗"])]
    with_word = Index.build(kb, words=["山茶小铺"])
    assert top(with_word, "山茶小铺地址") == 1


def test_two_indexes_with_different_words_are_independent():
    kb = [(1, ["山茶小铺在哪里"]), (2, ["山茶花茶好喝吗"])]
    plain_before = [(c.entry_id, c.confidence) for c in Index.build(kb).rank("山茶小铺")]
    shop_a = Index.build(kb, words=["山茶小铺"])
    shop_b = Index.build(kb)
    plain_after = [(c.entry_id, c.confidence) for c in shop_b.rank("山茶小铺")]
    # Shop A's word changed nothing for shop B (no global dictionary was touched)…
    assert plain_after == plain_before
    # …and it does count for shop A.
    assert shop_a.rank("山茶小铺") != shop_b.rank("山茶小铺")


def test_homophone_typo_matches(index):
    assert top(index, "包油吗") == FREE_SHIPPING  # 包油 sounds like 包邮
    assert top(index, "茶叶怎么保存") == STORE
    assert top(index, "茶叶怎么保纯") == STORE  # 纯 chún vs 存 cún: characters still match


def test_pinyin_initials_match(index):
    assert index.answer("by吗").entry_id == FREE_SHIPPING
    assert index.answer("hdfk吗").entry_id == COD
    assert index.answer("yfx怎么理赔").entry_id == RETURN_INSURANCE


def test_english_stemming_and_typos(index):
    assert index.answer("refunds take how long").entry_id == REFUND
    assert top(index, "how long dose a refnd tak") == REFUND  # trigrams carry typos


@pytest.mark.parametrize(
    "question",
    [
        "转人工",
        "人工",
        "人工客服！！",
        "我要投诉",
        "zrg",
        "真人客服在吗",
        "找你们老板",
        "human please",
        "Agent",
        "I want to talk to a real person",
        "can I speak to an operator",
        "connect me with a human agent",
    ],
)
def test_handover_phrases(index, question):
    assert wants_person(question)
    verdict = index.answer(question)
    assert (verdict.decision, verdict.reason, verdict.entry_id) == (
        "handover",
        "asked_for_person",
        None,
    )


@pytest.mark.parametrize(
    "question",
    [
        "my agent code doesn't work",  # a keyword inside a question is no request
        "有没有人工色素",
        "what does a human resources department do",
        "包邮吗",
    ],
)
def test_keywords_inside_questions_are_not_handover(question):
    assert not wants_person(question)


def test_candidates_still_ranked_when_asking_for_a_person(index):
    verdict = index.answer("货到付款吗 转人工")
    assert verdict.reason == "asked_for_person"
    assert verdict.candidates[0].entry_id == COD


@pytest.mark.parametrize(
    "question",
    ["", "   \n\t ", "😀😀🎉", "？？？！！！", "\x00\x01\x02", "……"],
)
def test_no_usable_token_is_empty(index, question):
    assert index.answer(question) == Verdict("handover", "empty", None, 0.0, ())


@pytest.mark.parametrize(
    "question",
    [
        "<script>alert('包邮吗')</script>",
        "包邮吗" + "😀" * 50_000,
        "x" * 100_000,
        "包邮\x00吗\x1b[31m\u202e",
        "Ｐｌｅａｓｅ 包邮吗 ｆｕｌｌ ｗｉｄｔｈ",
        "안녕하세요 こんにちは Привет 包邮",
        "\ud800 lone surrogate 包邮",
    ],
)
def test_odd_input_gets_a_clear_verdict(index, question):
    verdict = index.answer(question)
    assert verdict.decision in {"answer", "suggest", "handover"}
    assert 0 <= verdict.confidence <= 1


def test_a_huge_message_is_matched_on_its_start_only(index):
    assert index.answer("包邮吗" + " 的" * 50_000).entry_id == FREE_SHIPPING


def test_unrelated_question_is_handed_over(index):
    verdict = index.answer("附近有什么好吃的餐厅")
    assert (verdict.decision, verdict.reason) == ("handover", "out_of_scope")


def test_empty_index_hands_over():
    empty = Index.build([])
    assert len(empty) == 0
    assert empty.rank("包邮吗") == []
    assert empty.answer("包邮吗") == Verdict("handover", "out_of_scope", None, 0.0, ())
    # An entry whose phrasings have nothing to match is left out.
    assert len(Index.build([(1, ["", "😀"])])) == 0


def test_len_counts_phrasings(index):
    assert len(index) == sum(len(p) for _, p in KB)


def test_thresholds_decide(index):
    verdict = index.answer("满多少包邮")
    c = verdict.confidence
    assert index.answer("满多少包邮", Thresholds(c, c, 0)).decision == "answer"
    unsure = index.answer("满多少包邮", Thresholds(c + 0.01, c, 0))
    assert (unsure.decision, unsure.reason, unsure.entry_id) == ("suggest", "unsure", None)
    assert index.answer("满多少包邮", Thresholds(1.0, c + 0.01, 0)).decision == "handover"


def test_close_second_gives_suggest_with_margin():
    index = Index.build([(1, ["怎么开发票"]), (2, ["怎么开电子发票"])])
    ranked = index.rank("开发票")
    gap = ranked[0].confidence - ranked[1].confidence
    low = ranked[0].confidence - 0.01
    ambiguous = index.answer("开发票", Thresholds(low, low, gap + 0.01))
    assert (ambiguous.decision, ambiguous.reason, ambiguous.entry_id) == (
        "suggest",
        "ambiguous",
        None,
    )
    assert [c.entry_id for c in ambiguous.candidates] == [c.entry_id for c in ranked]
    assert index.answer("开发票", Thresholds(low, low, max(gap - 0.01, 0))).decision == "answer"


def test_default_thresholds_are_ordered():
    assert 0 <= DEFAULT_THRESHOLDS.suggest <= DEFAULT_THRESHOLDS.answer <= 1
    assert DEFAULT_THRESHOLDS.margin >= 0


def test_concurrent_reads_agree(index):
    questions = ["包邮吗", "hdfk", "退货运费险", "refund", "茶叶怎么保存", "山茶小铺"] * 20
    expected = [index.rank(q) for q in questions]
    results: dict[int, list] = {}

    def ask(worker: int) -> None:
        results[worker] = [index.rank(q) for q in questions]

    threads = [threading.Thread(target=ask, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert all(results[w] == expected for w in range(8))


def test_the_built_in_glossary_knows_regions_and_english_shop_words():
    index = Index.build(
        [
            (1, ["偏远地区能发货吗？", "新疆西藏发不发"]),
            (2, ["能寄到国外吗？", "海外能买吗"]),
            (3, ["退款多久到账？", "钱什么时候退回来"]),
            (4, ["能开发票吗？", "怎么开票"]),
        ]
    )
    assert top(index, "乌鲁木齐能发吗") == 1
    assert top(index, "能寄到新加坡吗") == 2
    assert top(index, "refund要几天") == 3
    assert top(index, "can I get an invoice") == 4


def test_chinese_questions_are_calibrated_onto_the_english_scale(index, monkeypatch):
    from app.robot import matcher
    from app.robot.tokens import chinese

    assert chinese("refund多久能到") and chinese("包邮吗") and not chinese("can u ship by SF")
    scaled = index.rank("茶叶买多了 要放冰箱吗")[0]
    english = index.rank("refund take long")[0]
    scale = matcher.CJK_SCALE
    monkeypatch.setattr(matcher, "CJK_SCALE", 1.0)
    raw = index.rank("茶叶买多了 要放冰箱吗")[0]
    assert scaled.entry_id == raw.entry_id == STORE
    assert scaled.confidence == pytest.approx(raw.confidence * scale, abs=1e-3)
    assert index.rank("refund take long")[0] == english


def test_the_supervised_part_tells_apart_entries_that_share_words(monkeypatch):
    # Both entries say "card"; the naive Bayes part knows which other words are each one's,
    # so the right entry leads by more than on similarity alone.
    from app.robot import matcher

    kb = [
        (1, ["my card has not arrived", "card still not here", "when will my card arrive"]),
        (2, ["my card is not working", "card declined in shop", "card payment refused"]),
    ]

    def lead(question: str) -> float:
        first, second = Index.build(kb).rank(question)
        assert first.entry_id == 1
        return first.confidence - second.confidence

    supervised = lead("card not here yet")
    monkeypatch.setattr(matcher, "BAYES_SHARE", 0.0)
    assert supervised > 2 * lead("card not here yet")
