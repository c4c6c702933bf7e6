"""The knowledge base's CSV import and export through the console: a file in UTF-8 (with or
without BOM) or GBK, Chinese or English headers; a preview of each row as it will be stored and
of the rows refused with their reason; confirmation in one unit; an entry with the same question
updated, not doubled; the export imported again changes nothing; a big file works; one shop's
import and export never touch another's entries."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

from sqlalchemy import select

from app.robot.models import RobotEntry, RobotImport, RobotSettings
from tenants.db import bind_tenant, db

from ..conftest import login

BASE = "/console/robot"

CHINESE = (
    "问题,相似问法,答案,分类\n"
    "运费险怎么理赔？,退货运费险|运费险 怎么用,退货后自动理赔到账。,售后\n"
    "发票怎么开？,,在订单页申请电子发票：https://shop.example/invoice,发票\n"
)


def page(answer) -> str:
    return unescape(answer.get_data(True))


def entries(shop) -> list[tuple]:
    bind_tenant(shop.tenant.id)
    found = db.execute(
        select(
            RobotEntry.question, RobotEntry.alternatives, RobotEntry.answer, RobotEntry.category
        ).order_by(RobotEntry.id)
    ).all()
    bind_tenant(None)
    return [tuple(row) for row in found]


def version(shop) -> int:
    bind_tenant(shop.tenant.id)
    found = db.scalar(select(RobotSettings.version)) or 0
    bind_tenant(None)
    return found


def upload(client, data: bytes, name="faq.csv"):
    return client.post(
        f"{BASE}/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def preview_url(answer) -> str:
    assert answer.status_code == 302, answer.get_data(True)[:2000]
    return answer.headers["Location"]


def counts(html: str) -> dict[str, int]:
    return {
        key: int(value)
        for key, value in re.findall(r'data-count="(\w+)"[^>]*><strong>(\d+)</strong>', html)
    }


def test_a_gbk_file_with_chinese_headers_is_previewed_then_imported(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    before = entries(a)
    url = preview_url(upload(client, CHINESE.encode("gbk")))
    shown = page(client.get(url))
    assert counts(shown) == {"new": 2, "updated": 0, "unchanged": 0, "refused": 0}
    assert "退货运费险 · 运费险 怎么用" in shown and "售后" in shown
    assert entries(a) == before  # the preview stores nothing
    done = client.post(url)
    assert done.status_code == 302
    assert entries(a)[len(before) :] == [
        ("运费险怎么理赔？", ["退货运费险", "运费险 怎么用"], "退货后自动理赔到账。", "售后"),
        ("发票怎么开？", [], "在订单页申请电子发票：https://shop.example/invoice", "发票"),
    ]
    listed = page(client.get(done.headers["Location"]))
    assert "Imported: 2 new entries, 0 updated, 0 unchanged." in listed
    # a second confirmation (a double click) imports nothing more
    client.post(url)
    assert len(entries(a)) == len(before) + 2
    assert "imported already" in page(client.get(url))


def test_utf8_with_bom_english_headers_and_an_existing_question_updates_it(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    text = (
        "Category,Question,Answer,Alternatives\n"
        "shipping,  do you SHIP to a-land? ,In 5 days now.,abroad|overseas\n"
        "returns,Can I return it?,Within 7 days.,\n"
    )
    url = preview_url(upload(client, ("\ufeff" + text).encode("utf-8")))
    shown = page(client.get(url))
    assert counts(shown) == {"new": 1, "updated": 1, "unchanged": 0, "refused": 0}
    assert "updates this entry" in shown
    assert client.post(url).status_code == 302
    assert entries(a) == [
        ("do you SHIP to a-land?", ["abroad", "overseas"], "In 5 days now.", "shipping"),
        ("Can I return it?", [], "Within 7 days.", "returns"),
    ]


def test_bad_rows_are_listed_with_their_reason_and_the_good_ones_go_in(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    text = (
        "question,answer,category\n"
        "Good one?,Yes.,\n"
        ",No question here.,\n"
        "\n"  # a blank line keeps its row number
        "No answer?,,\n"
        f"{'q' * 501},Too long.,\n"
        "good ONE?,Twice.,\n"
        f"Long category?,Yes.,{'c' * 81}\n"
    )
    url = preview_url(upload(client, text.encode()))
    shown = page(client.get(url))
    assert counts(shown) == {"new": 1, "updated": 0, "unchanged": 0, "refused": 5}
    refused = re.findall(
        r"<tr><td class=\"num\"[^>]*>(\d+)</td><td[^>]*>(\w*)</td><td[^>]*>([^<]+)</td></tr>", shown
    )
    assert refused == [
        ("3", "question", "This field is required."),
        ("5", "answer", "This field is required."),
        ("6", "question", "Use at most 500 characters."),
        ("7", "question", "The same question is in row 2 already."),
        ("8", "category", "Use at most 80 characters."),
    ]
    assert client.post(url).status_code == 302
    assert entries(a)[-1] == ("Good one?", [], "Yes.", "")


def test_a_file_with_no_good_row_is_refused_and_changes_nothing(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    before, before_version = entries(a), version(a)
    url = preview_url(upload(client, b"question,answer\nNo answer?,\n"))
    assert "No row can be imported" in page(client.get(url))
    refused = client.post(url)
    assert refused.status_code == 422 and "No row of this file can be imported." in page(refused)
    assert entries(a) == before and version(a) == before_version


def test_unreadable_files_are_refused_at_upload(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    for data, words in [
        (b"", "Choose a CSV file"),
        (b"name,phone\nx,y\n", "has no question, answer column"),
        (b"PK\x03\x04xlsx", ""),
        (b"question,answer\n", ""),
    ]:
        answer = (
            client.post(f"{BASE}/import", data={}, content_type="multipart/form-data")
            if not data
            else upload(client, data)
        )
        assert answer.status_code == 422, data
        assert 'id="error-file"' in answer.get_data(True) and words in page(answer)
    bind_tenant(a.tenant.id)
    assert db.scalars(select(RobotImport.filename)).all() == ["faq-a.csv"]  # the fixture's


def test_export_then_import_changes_nothing(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    text = (
        "question,alternatives,answer,category\n"
        '"=SUM(A1)?",-minus|+plus,"Line one\nline two, with ""quotes"" https://a.cn/x",公式\n'
        "Disabled one?,,Still exported.,\n"
    )
    client.post(preview_url(upload(client, text.encode())))
    bind_tenant(a.tenant.id)
    db.scalar(select(RobotEntry).where(RobotEntry.question == "Disabled one?")).enabled = False
    db.commit()
    bind_tenant(None)
    before, before_version = entries(a), version(a)
    exported = client.get(f"{BASE}/export.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    body = exported.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the Chinese
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["question", "alternatives", "answer", "category"]
    assert [
        "'=SUM(A1)?",
        "'-minus|+plus",
        'Line one\nline two, with "quotes" https://a.cn/x',
        "公式",
    ] in rows
    assert len(rows) == 1 + len(before)
    url = preview_url(upload(client, body, "knowledge-base.csv"))
    assert counts(page(client.get(url))) == {
        "new": 0,
        "updated": 0,
        "unchanged": len(before),
        "refused": 0,
    }
    assert "Nothing to change" in client.get(url).get_data(True)  # and no button to import
    client.post(url)
    assert entries(a) == before and version(a) == before_version
    bind_tenant(a.tenant.id)
    assert (
        db.scalar(select(RobotEntry.enabled).where(RobotEntry.question == "Disabled one?")) is False
    )


def test_a_big_file_imports_in_one_go(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    lines = ["问题,相似问法,答案,分类"]
    lines += [
        f"商品 {n} 有货吗？,商品{n}还有吗|{n} 号还有货吗,有货，今天下单明天发货。详情见 https://shop.example/p/{n},库存"
        for n in range(10_000)
    ]
    data = "\n".join(lines).encode("gb18030")
    assert len(data) > 1_000_000
    url = preview_url(upload(client, data))
    shown = page(client.get(url))
    assert counts(shown)["new"] == 10_000 and "The first 200 rows of 10000." in shown
    assert client.post(url).status_code == 302
    assert len(entries(a)) == 10_001


def test_another_shops_import_is_404_and_its_export_holds_only_its_entries(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    login(client, b.owner)
    foreign = f"{BASE}/import/{a.robot_import.id}"
    assert client.get(foreign).status_code == 404
    assert client.post(foreign).status_code == 404
    assert client.get(f"{BASE}/import/99999999").status_code == 404
    assert entries(a) == [
        ("Do you ship to a-land?", ["delivery abroad"], "Yes, in 7 days.", "shipping")
    ]
    exported = client.get(f"{BASE}/export.csv").get_data().decode("utf-8-sig")
    assert "b-land" in exported and "a-land" not in exported
    # B's file with A's question adds B's own entry; A's stays as it was
    url = preview_url(upload(client, b"question,answer\nDo you ship to a-land?,No.\n"))
    assert counts(page(client.get(url)))["new"] == 1
    client.post(url)
    assert entries(a) == [
        ("Do you ship to a-land?", ["delivery abroad"], "Yes, in 7 days.", "shipping")
    ]
    assert ("Do you ship to a-land?", [], "No.", "") in entries(b)
