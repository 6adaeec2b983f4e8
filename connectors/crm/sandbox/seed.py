"""Deterministic, realistic CRM data for the sandbox: customers, their orders and interactions.

Everything is drawn from `random.Random` seeded by the caller and dated relative to the fixed
`REFERENCE_TIME`, so the same seed always gives the same data, whatever the wall clock says.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

__all__ = ["CATALOGUE", "REFERENCE_TIME", "TZ", "format_ts", "generate_customers",
           "generate_history", "parse_ts"]

TZ = timezone(timedelta(hours=8))
REFERENCE_TIME = datetime(2026, 11, 1, tzinfo=TZ)
_T = TypeVar("_T")
_REF = int(REFERENCE_TIME.timestamp())
_DAY = 86_400

_SURNAMES = [  # (surname, pinyin, weight)
    ("王", "wang", 72), ("李", "li", 70), ("张", "zhang", 66), ("刘", "liu", 54),
    ("陈", "chen", 46), ("杨", "yang", 32), ("黄", "huang", 24), ("赵", "zhao", 22),
    ("吴", "wu", 20), ("周", "zhou", 20), ("徐", "xu", 15), ("孙", "sun", 15), ("马", "ma", 13),
    ("朱", "zhu", 13), ("胡", "hu", 12), ("郭", "guo", 12), ("何", "he", 10), ("林", "lin", 10),
    ("罗", "luo", 10), ("高", "gao", 10), ("郑", "zheng", 9), ("梁", "liang", 9),
    ("谢", "xie", 8), ("宋", "song", 7), ("唐", "tang", 7), ("韩", "han", 6), ("冯", "feng", 6),
    ("邓", "deng", 6), ("曹", "cao", 6), ("彭", "peng", 6), ("曾", "zeng", 5),
    ("肖", "xiao", 5), ("田", "tian", 5), ("董", "dong", 5), ("潘", "pan", 4),
    ("袁", "yuan", 4), ("蒋", "jiang", 4), ("蔡", "cai", 4), ("叶", "ye", 4), ("程", "cheng", 4),
    ("魏", "wei", 4), ("苏", "su", 4), ("沈", "shen", 3), ("欧阳", "ouyang", 1),
]
_GIVEN = [tuple(pair.split(":")) for pair in (  # (given name, pinyin)
    "伟:wei 芳:fang 娜:na 敏:min 静:jing 丽:li 强:qiang 磊:lei 军:jun 洋:yang 勇:yong 艳:yan "
    "杰:jie 涛:tao 明:ming 超:chao 霞:xia 平:ping 刚:gang 辉:hui 鑫:xin 婷:ting 颖:ying 倩:qian "
    "秀英:xiuying 建国:jianguo 丽娟:lijuan 子涵:zihan 梓轩:zixuan 欣怡:xinyi 浩然:haoran "
    "雨桐:yutong 思远:siyuan 佳怡:jiayi 晓明:xiaoming 志强:zhiqiang 海燕:haiyan 春梅:chunmei "
    "俊杰:junjie 文博:wenbo 雪琳:xuelin 鹏飞:pengfei 宇航:yuhang 嘉欣:jiaxin 一鸣:yiming "
    "晨曦:chenxi 思琪:siqi 建华:jianhua 玉兰:yulan 国强:guoqiang 桂英:guiying 丹丹:dandan "
    "晓燕:xiaoyan 志伟:zhiwei 永刚:yonggang 淑芬:shufen 雅婷:yating 博文:bowen 子墨:zimo "
    "诗涵:shihan 宇轩:yuxuan 佳琪:jiaqi 明轩:mingxuan 文静:wenjing 海涛:haitao 立新:lixin"
).split()]
_PLACES = [(p, c) for p, cities in (
    ("北京市", "北京市"), ("上海市", "上海市"), ("天津市", "天津市"), ("重庆市", "重庆市"),
    ("浙江省", "杭州市 宁波市 温州市 绍兴市"), ("江苏省", "南京市 苏州市 无锡市 常州市"),
    ("广东省", "广州市 深圳市 东莞市 佛山市"), ("四川省", "成都市 绵阳市"),
    ("湖北省", "武汉市 宜昌市"), ("湖南省", "长沙市 株洲市"), ("山东省", "济南市 青岛市 烟台市"),
    ("福建省", "福州市 厦门市 泉州市"), ("河南省", "郑州市 洛阳市"), ("河北省", "石家庄市"),
    ("安徽省", "合肥市 芜湖市"), ("陕西省", "西安市"), ("辽宁省", "沈阳市 大连市"),
    ("江西省", "南昌市"), ("云南省", "昆明市"), ("广西壮族自治区", "南宁市 桂林市"),
) for c in cities.split()]
_BRANDS = ("云栖 华信 鼎盛 博远 恒通 星辰 瑞丰 智联 同创 启明 天禾 汇众 九州 万象 中科 新元 安泰 "
           "金桥 远航 嘉和").split()
_INDUSTRIES = ("科技 信息技术 贸易 电子商务 餐饮管理 物流 建筑工程 文化传媒 医疗器械 家居用品 "
               "教育咨询 环保科技").split()
_LEVELS, _LEVEL_WEIGHTS = ("普通", "银卡", "金卡", "钻石"), (60, 25, 12, 3)
_TAGS = ("会员日活跃", "高价值", "投诉敏感", "促销偏好", "线上渠道", "门店客户", "复购", "以旧换新")
_MOBILE_PREFIXES = [str(p) for p in (
    *range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159, 173, 175, 176, 177, 178,
    *range(180, 190), 191, 193, 195, 196, 198, 199,
)]
_MESSY = ("+86 {a}-{b}-{c}", "{a} {b} {c}", "86-{a}{b}{c}", "+86{a}{b}{c}", "{a}-{b}-{c}")
_EMAIL_DOMAINS = ("example.cn", "example.com.cn", "qq.example", "163.example", "foxmail.example")

# (sku, name, category, unit price in fen): appliances and their replacement parts.
CATALOGUE: list[tuple[str, str, str, int]] = [
    ("RV-X10", "扫地机器人 X10", "扫地机器人", 259_900),
    ("RV-S7", "扫拖一体机器人 S7", "扫地机器人", 329_900),
    ("RV-BRUSH", "扫地机器人边刷套装", "扫地机器人", 5_900),
    ("RV-BAG3", "扫地机器人集尘袋（3只装）", "扫地机器人", 7_900),
    ("WP-R600", "反渗透净水器 R600", "净水器", 189_900),
    ("WP-F600", "净水器 RO 反渗透滤芯 F600", "净水器", 39_900),
    ("WP-PP1", "净水器 PP 棉复合滤芯", "净水器", 8_900),
    ("AP-M3", "空气净化器 M3", "空气净化器", 129_900),
    ("AP-H13", "空气净化器 HEPA 滤网 H13", "空气净化器", 25_900),
    ("DW-8S", "嵌入式洗碗机 8 套", "洗碗机", 369_900),
    ("DW-SALT", "洗碗机专用软水盐 2kg", "洗碗机", 3_900),
    ("SL-K7", "智能门锁 K7", "智能门锁", 159_900),
    ("SL-BAT", "智能门锁锂电池", "智能门锁", 12_900),
    ("HD-V12", "无线手持吸尘器 V12", "吸尘器", 179_900),
    ("WH-E60", "电热水器 60L", "热水器", 149_900),
]
_ORDER_STATUSES = ("待付款", "已付款", "已发货", "已签收", "已退款")
_CHANNELS, _CHANNEL_WEIGHTS = ("电话", "在线客服", "邮件", "门店"), (35, 45, 8, 12)
_AGENTS = "李静 张敏 王磊 陈晨 刘洋 赵丽 周婷 吴涛 孙悦 郑凯 黄蕾 林峰".split()
_SUMMARIES = (
    "申请{p}上门安装", "反馈{p}噪音偏大，已安排售后检测", "咨询{p}保修期限",
    "咨询{p}以旧换新活动", "询问订单物流进度", "咨询发票开具", "修改收货地址",
    "投诉配送延迟，已致歉并加急", "咨询会员等级权益", "申请退款，已登记并转财务处理",
)
_CATEGORY_SUMMARIES = {
    "扫地机器人": ("反馈扫地机器人无法自动回充", "咨询扫地机器人边刷更换周期",
               "反馈扫地机器人无法连接 App，已指导重新配网"),
    "净水器": ("咨询净水器滤芯更换周期", "反馈净水器出水变慢，建议更换 PP 棉滤芯"),
    "空气净化器": ("咨询空气净化器滤网更换周期", "反馈空气净化器异味，已指导清洁滤网"),
    "洗碗机": ("咨询洗碗机软水盐添加方法", "反馈洗碗机餐具有水渍，已指导调整漂洗剂档位"),
    "智能门锁": ("反馈智能门锁低电量提醒", "咨询智能门锁临时密码设置"),
    "吸尘器": ("反馈吸尘器续航变短，已安排电池检测",),
    "热水器": ("预约热水器上门安装", "咨询热水器镁棒更换"),
}


def format_ts(ts: int) -> str:
    """Epoch seconds as the vendor writes them: ISO-8601, +08:00, second precision."""
    return datetime.fromtimestamp(ts, TZ).isoformat()


def parse_ts(value: str) -> int:
    """The vendor's timestamp back to epoch seconds."""
    return int(datetime.fromisoformat(value).timestamp())


def _weighted(pairs: list[tuple[Any, int]]) -> list[Any]:
    """Each value repeated by its weight, so that a uniform pick is a weighted one."""
    return [value for value, weight in pairs for _ in range(weight)]


# Picking is on the hot path of 100k customers: `seq[int(rand() * len(seq))]` is several times
# faster than `Random.choice` / `Random.choices`, and just as deterministic.
_SURNAME_PICK = _weighted([((s, py), w) for s, py, w in _SURNAMES])
_LEVEL_PICK = _weighted(list(zip(_LEVELS, _LEVEL_WEIGHTS, strict=True)))


def generate_customers(count: int, *, seed: int) -> list[dict[str, Any]]:
    """`count` customers in API shape, ids C000001 upwards; the same seed gives the same data."""
    rng = random.Random(seed)
    rand = rng.random
    mobiles: set[str] = set()
    emails: set[str] = set()
    created: list[int] = []
    updated: list[int] = []
    customers = []
    for n in range(1, count + 1):
        surname, s_py = _pick(rand, _SURNAME_PICK)
        g_name, g_py = _pick(rand, _GIVEN)
        province, city = _pick(rand, _PLACES)
        company = None
        if rand() < 0.35:
            brand, trade = _pick(rand, _BRANDS), _pick(rand, _INDUSTRIES)
            company = f"{city.removesuffix('市')}{brand}{trade}有限公司"
        # Created on a day in the last two years, in business hours; updated later, mostly lately.
        c_ts = _REF - int(2 + rand() * 729) * _DAY + int((8 + rand() * 14) * 3600)
        u_ts = c_ts + 60 + int((_REF - c_ts - 60) * rand() ** 0.5)
        created.append(c_ts)
        updated.append(u_ts)
        level = _pick(rand, _LEVEL_PICK)
        customers.append({
            "id": f"C{n:06d}",
            "name": surname + g_name,
            "company": company,
            "level": level,
            "contact": {
                "mobile": _mobile(rand, mobiles),
                "email": _email(rand, emails, s_py, g_py) if rand() < 0.7 else None,
            },
            "address": {"province": province, "city": city},
            "status": "停用" if rand() < 0.05 else "正常",
            "tags": _tags(rand, age_days=(_REF - c_ts) // _DAY, level=level, company=company),
        })
    # Ties: some records take the updated_at of the next record in time, so pages must
    # break ties on id. The later neighbour is still after the record's own created_at.
    order = sorted(range(count), key=updated.__getitem__)
    ties = rng.sample(range(count - 1), max(1, count // 20)) if count > 2 else []
    for j in sorted(ties, reverse=True):
        updated[order[j]] = updated[order[j + 1]]
    for customer, c_ts, u_ts in zip(customers, created, updated, strict=True):
        customer["created_at"] = format_ts(c_ts)
        customer["updated_at"] = format_ts(u_ts)
    return customers


def _pick(rand: Callable[[], float], seq: Sequence[_T]) -> _T:
    return seq[int(rand() * len(seq))]


def _mobile(rand: Callable[[], float], seen: set[str]) -> str:
    while True:
        number = _pick(rand, _MOBILE_PREFIXES) + f"{int(rand() * 100_000_000):08d}"
        if number not in seen:
            seen.add(number)
            break
    if rand() < 0.1:
        return _pick(rand, _MESSY).format(a=number[:3], b=number[3:7], c=number[7:])
    return number


def _email(rand: Callable[[], float], seen: set[str], surname: str, given: str) -> str:
    style = rand()
    if style < 0.1:
        local = f"user{int(100 + rand() * 99_900)}"
    elif style < 0.45:
        local = f"{surname}.{given}"
    elif style < 0.65:
        local = f"{given}.{surname}"
    else:
        local = f"{surname}{given}{int(1 + rand() * 99):02d}"
    domain = _pick(rand, _EMAIL_DOMAINS)
    email = f"{local}@{domain}"
    while email in seen:
        email = f"{local}{int(1 + rand() * 9999)}@{domain}"
    seen.add(email)
    return email


def _tags(
    rand: Callable[[], float], *, age_days: int, level: str, company: str | None
) -> list[str]:
    tags = ["老客户"] if age_days > 365 else ["新客户"] if age_days < 90 else []
    if company and rand() < 0.6:
        tags.append("企业客户")
    if level in ("金卡", "钻石") and rand() < 0.7:
        tags.append("高价值")
    extra = rand()
    if extra < 0.55:
        tags.append(_pick(rand, _TAGS))
    if extra < 0.15 and (second := _pick(rand, _TAGS)) != tags[-1]:
        tags.append(second)
    return tags


def generate_history(customer: dict[str, Any], *, seed: int) -> dict[str, Any]:
    """Orders and interactions of one customer, newest first; the same inputs, the same output.

    Seeded by (seed, customer id), so it can be generated lazily on each request.
    """
    cid = customer["id"]
    rng = random.Random(f"crm-history:{seed}:{cid}")
    start = parse_ts(customer["created_at"])
    digits = cid.removeprefix("C")
    if start >= _REF:
        return {"customer_id": cid, "orders": [], "interactions": []}
    order_times = sorted(rng.randint(start, _REF) for _ in range(rng.randint(0, 6)))
    orders, bought = [], []
    for seq, ts in enumerate(order_times, 1):
        products = rng.sample(CATALOGUE, rng.choice((1, 1, 1, 2, 2, 3)))
        bought += products
        qtys = [1 if fen > 100_000 else rng.randint(1, 3) for *_, fen in products]
        items = [{"sku": sku, "name": name, "qty": qty, "unit_price": _yuan(fen)}
                 for (sku, name, _, fen), qty in zip(products, qtys, strict=True)]
        total = sum(qty * fen for (*_, fen), qty in zip(products, qtys, strict=True))
        orders.append({
            "order_no": f"SO{datetime.fromtimestamp(ts, TZ):%Y%m%d}-{digits}-{seq}",
            "ordered_at": format_ts(ts),
            "status": _order_status(rng, age_days=(_REF - ts) // _DAY),
            "total": _yuan(total),
            "currency": "CNY",
            "items": items,
        })
    categories = [p[2] for p in bought] or [p[2] for p in CATALOGUE]
    interactions = []
    for seq, ts in enumerate(sorted(rng.randint(start, _REF) for _ in range(rng.randint(0, 5))), 1):
        interactions.append({
            "id": f"I{digits}{seq:02d}",
            "at": format_ts(ts),
            "channel": rng.choices(_CHANNELS, _CHANNEL_WEIGHTS)[0],
            "summary": _summary(rng, rng.choice(categories)),
            "agent": rng.choice(_AGENTS),
        })
    return {"customer_id": cid, "orders": orders[::-1], "interactions": interactions[::-1]}


def _summary(rng: random.Random, category: str) -> str:
    if rng.random() < 0.5:
        return rng.choice(_CATEGORY_SUMMARIES[category])
    return rng.choice(_SUMMARIES).format(p=category)


def _order_status(rng: random.Random, *, age_days: int) -> str:
    if age_days < 3:
        return rng.choice(_ORDER_STATUSES[:3])
    if age_days < 10:
        return rng.choice(_ORDER_STATUSES[2:4])
    return "已退款" if rng.random() < 0.12 else "已签收"


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"
