"""Which column of an imported file feeds what (its mapping): guessed from the header names in
English and Chinese, checked when the admin changes it; and the export's column names, which
read back as the same columns."""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.crm.models import CustomField
from tenants.errors import ServiceError

IGNORE = ""
# Targets several columns may feed (a second phone column adds a second phone).
REPEATABLE = {"phone", "email", "tags"}
CUSTOMER_TARGETS = ("huike_id", "name", "external_id", "phone", "email", "company", "tags", "owner")
ORDER_TARGETS = (
    "order_id",
    "status",
    "total",
    "currency",
    "placed_at",
    "customer_external_id",
    "customer_phone",
    "customer_email",
    "customer_name",
)
CUSTOMER_KEYS = ("huike_id", "external_id", "phone", "email")  # what recognises a customer
ORDER_CUSTOMER_KEYS = ("customer_external_id", "customer_phone", "customer_email")


def _words(text: str) -> list[str]:
    return text.split()


# Header names (compared without case, spaces, _ - . / and brackets) in English and Chinese.
_NAMES = _words("""name fullname customer customername contact contactname 姓名 名字 客户 客户名
    客户名称 客户姓名 联系人 称呼""")
_EXTERNAL_IDS = _words("""externalid userid customerid memberid uid 用户id 会员id 客户id 用户编号
    会员编号 客户编号 外部id 买家id""")
_PHONES = _words("""phone phones phonenumber mobile mobilephone mobilenumber cell cellphone tel
    telephone 手机 手机号 手机号码 电话 电话号码 联系电话 移动电话 座机""")
_EMAILS = _words("email emails emailaddress mail 邮箱 邮箱地址 电子邮箱 电子邮件 邮件")
SYNONYMS: dict[str, dict[str, list[str]]] = {
    "customers": {
        "huike_id": _words("huikeid 汇客id"),
        "name": _NAMES,
        "external_id": _EXTERNAL_IDS,
        "phone": _PHONES,
        "email": _EMAILS,
        "company": _words("""company companyname organization organisation 公司 公司名称 单位 企业
            企业名称"""),
        "tags": _words("tags tag labels label 标签"),
        "owner": _words("owner owneremail assignedto agent 负责人 所属客服 归属客服"),
    },
    "orders": {
        "order_id": _words("orderid order orderno ordernumber 订单号 订单编号 订单id"),
        "status": _words("status orderstatus state 状态 订单状态"),
        "total": _words("""total amount ordertotal totalamount 金额 订单金额 总价 总金额 实付
            实付金额 付款金额"""),
        "currency": _words("currency 币种 货币"),
        "placed_at": _words("""placedat date orderdate ordertime orderedat createdat time 下单时间
            下单日期 订单时间 创建时间 日期 时间"""),
        "customer_external_id": ["customerexternalid", *_EXTERNAL_IDS],
        "customer_phone": _words("customerphone 买家手机 收货人手机 收货人电话") + _PHONES,
        "customer_email": ["customeremail", "买家邮箱", *_EMAILS],
        "customer_name": _words("buyer buyername 买家 收货人") + _NAMES,
    },
}
_HEADER_NOISE = re.compile(r"[\s_\-./()（）]+")

# The export's columns around the custom fields; those after them are facts, not imported.
EXPORT_COLUMNS = ("huike_id", "external_id", "name", "company", "phones", "emails", "tags", "owner")
EXPORT_FACTS = ("order_count", "revenue", "last_order_at", "last_seen_at", "created_at", "source")


def _header_key(header: str) -> str:
    return _HEADER_NOISE.sub("", header.lower())


def field_targets(fields: Iterable[CustomField]) -> list[str]:
    return [f"fields.{f.key}" for f in fields]


def field_header(key: str) -> str:
    """A custom field's column name in an export: its key, or fields.<key> when the bare key
    would read as another column (a field keyed "mobile" is not a phone)."""
    known = {_header_key(c) for c in (*EXPORT_COLUMNS, *EXPORT_FACTS)} | {
        n for names in SYNONYMS["customers"].values() for n in names
    }
    return f"fields.{key}" if _header_key(key) in known else key


def guess_mapping(kind: str, header: list[str], fields: Iterable[CustomField] = ()) -> dict:
    """Column index (as a string) -> target, from the header names; unknown columns are
    ignored and a one-value target goes to its first column only."""
    fields = list(fields)
    by_name = {}
    for f in fields:  # a custom field answers to its key and its label
        for name in (f.key, f.label):
            by_name.setdefault(_header_key(name), f"fields.{f.key}")
    taken: set[str] = set()
    mapping = {}
    for index, name in enumerate(header):
        lowered = name.strip().lower()
        target = lowered if lowered in {f"fields.{f.key}" for f in fields} else None
        key = _header_key(name)
        if target is None:
            target = next((t for t, names in SYNONYMS[kind].items() if key in names), None)
        if target is None and kind == "customers":
            target = by_name.get(key)
        if target is not None and (target in REPEATABLE or target not in taken):
            taken.add(target)
            mapping[str(index)] = target
        else:
            mapping[str(index)] = IGNORE
    return mapping


def check_mapping(kind: str, given: dict, header: list[str], fields: Iterable[CustomField] = ()):
    """The mapping the admin chose, checked: known targets, a one-value target on one column,
    and enough to recognise each row's customer (and order)."""
    targets = set(CUSTOMER_TARGETS if kind == "customers" else ORDER_TARGETS)
    if kind == "customers":
        targets |= set(field_targets(fields))
    mapping, used = {}, {}
    for index, name in enumerate(header):
        target = str(given.get(str(index)) or IGNORE)
        if target != IGNORE and target not in targets:
            raise ServiceError("import_target_invalid", field=str(index), column=name)
        if target != IGNORE and target not in REPEATABLE and target in used:
            raise ServiceError(
                "import_target_twice", field=str(index), first=used[target], second=name
            )
        used.setdefault(target, name)
        mapping[str(index)] = target
    if kind == "customers" and not used.keys() & set(CUSTOMER_KEYS):
        raise ServiceError("import_no_customer_key", field="mapping")
    if kind == "orders":
        if "order_id" not in used:
            raise ServiceError("import_no_order_id", field="mapping")
        if not used.keys() & set(ORDER_CUSTOMER_KEYS):
            raise ServiceError("import_no_order_customer", field="mapping")
    return mapping
