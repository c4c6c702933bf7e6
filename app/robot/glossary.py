"""Built-in e-commerce vocabulary every shop's robot knows: groups of terms meaning the same.

Language facts written from general knowledge of Chinese and English online shopping, not
from any question set. A term found in a question or a phrasing adds its group as one more
feature (``app.robot.tokens``), next to its own words: 乌鲁木齐 then shares something with
偏远地区, ``refund`` with 退款. Shops extend this with their own synonyms (the knowledge base's
synonym groups), which are matched as well.

One group per line (an indented line continues the group above), terms separated by spaces;
``_`` stands for a space inside a term. Latin
terms match whole words only, so list their inflections.
"""

GROUPS = """\
包邮 免邮 免运费 免邮费 不要运费 免费配送 free_shipping free_delivery ship_free
运费 邮费 快递费 配送费 postage shipping_fee shipping_cost delivery_fee delivery_charge
发货 发出 寄出 出库 ship ships shipped dispatch dispatched send_out sent_out
快递 物流 包裹 配送 courier express delivery deliver delivered logistics parcel package
查物流 物流信息 单号 快递单号 运单号 track tracking tracking_number
偏远地区 偏远 新疆 西藏 青海 内蒙古 内蒙 宁夏 甘肃 乌鲁木齐 拉萨 西宁 呼和浩特 银川 兰州
    remote_area remote_areas
国外 海外 境外 国际 出国 美国 日本 韩国 英国 法国 德国 意大利 西班牙 俄罗斯 加拿大
    澳大利亚 澳洲 新西兰 新加坡 马来西亚 泰国 越南 菲律宾 印尼
    abroad overseas international usa america japan korea uk england france germany canada
    australia singapore malaysia
港澳台 香港 澳门 台湾 hong_kong hongkong hk macau macao taiwan
退款 退钱 退费 返款 钱退 refund refunds refunded money_back
退货 退回 寄回 退换 return returns returned send_back
换货 调换 更换 exchange exchanges replace replacement
发票 开票 专票 普票 电子发票 invoice invoices fapiao receipt
取消 撤销 撤单 不要了 cancel cancels cancelled canceled cancellation
订单 单子 order orders
付款 支付 付钱 买单 pay paid paying payment payments
货到付款 cash_on_delivery cod
优惠券 代金券 折扣券 满减券 优惠卷 coupon coupons voucher vouchers promo_code
打折 折扣 优惠 便宜 discount discounts sale deal deals
地址 收货地址 address addresses
价格 价钱 多少钱 price prices cost how_much
保质期 有效期 过期 shelf_life expiry expire expired expiration best_before
会员 vip member members membership
尺码 尺寸 大小 size sizes
库存 有货 现货 缺货 断货 in_stock out_of_stock stock
签收 收到货 已签收 received
评价 好评 差评 review reviews
"""


def groups() -> list[list[str]]:
    found: list[list[str]] = []
    for line in GROUPS.splitlines():
        terms = [t.replace("_", " ") for t in line.split()]
        if line.startswith(" ") and found:
            found[-1] += terms
        elif terms:
            found.append(terms)
    return found
