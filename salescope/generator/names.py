"""Word lists and vectorised builders for the free-text fields (names, companies, subjects...)."""

from __future__ import annotations

import numpy as np

# Word tables read best laid out as rows, so the formatter leaves them alone.
# fmt: off
SURNAMES = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
    ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
]
GIVEN = [
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀", "xiu"),
    ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂", "gui"), ("文", "wen"), ("华", "hua"),
    ("建", "jian"), ("国", "guo"), ("晓", "xiao"), ("宇", "yu"), ("浩", "hao"), ("婷", "ting"),
    ("志", "zhi"), ("鹏", "peng"), ("欣", "xin"), ("佳", "jia"), ("俊", "jun"), ("琳", "lin"),
]

REGION_CITIES = {
    "east": ["上海", "杭州", "南京", "苏州", "宁波", "合肥", "济南", "青岛", "福州", "厦门", "无锡"],
    "north": ["北京", "天津", "石家庄", "太原", "沈阳", "大连", "哈尔滨", "长春", "呼和浩特"],
    "south": ["广州", "深圳", "东莞", "佛山", "珠海", "南宁", "海口", "汕头"],
    "central": ["武汉", "长沙", "郑州", "南昌", "宜昌", "洛阳"],
    "west": ["成都", "重庆", "西安", "昆明", "贵阳", "兰州", "乌鲁木齐"],
}

BRANDS = [
    ("华信", "huaxin"), ("中科", "zhongke"), ("恒通", "hengtong"), ("宏达", "hongda"), ("鑫源", "xinyuan"),
    ("瑞丰", "ruifeng"), ("天成", "tiancheng"), ("海川", "haichuan"), ("明德", "mingde"), ("金桥", "jinqiao"),
    ("博远", "boyuan"), ("新锐", "xinrui"), ("卓越", "zhuoyue"), ("东方", "dongfang"), ("长江", "changjiang"),
    ("正泰", "zhengtai"), ("汇智", "huizhi"), ("联创", "lianchuang"), ("嘉禾", "jiahe"), ("永盛", "yongsheng"),
    ("安捷", "anjie"), ("锦程", "jincheng"), ("同创", "tongchuang"), ("星河", "xinghe"), ("远景", "yuanjing"),
    ("泰和", "taihe"), ("华通", "huatong"), ("启明", "qiming"), ("智达", "zhida"), ("盛世", "shengshi"),
    ("凯越", "kaiyue"), ("弘毅", "hongyi"), ("力拓", "lituo"), ("鼎新", "dingxin"), ("宏图", "hongtu"),
    ("万邦", "wanbang"), ("九州", "jiuzhou"), ("德胜", "desheng"), ("华瑞", "huarui"), ("昌盛", "changsheng"),
    ("晨光", "chenguang"), ("润泽", "runze"), ("领航", "linghang"), ("荣达", "rongda"), ("佳华", "jiahua"),
    ("银河", "yinhe"), ("奥创", "aochuang"), ("环宇", "huanyu"), ("信达", "xinda"), ("光明", "guangming"),
]

INDUSTRY_WORDS = {
    "manufacturing": ["精密制造", "机械", "智能装备", "汽车零部件", "电子", "新材料"],
    "it": ["信息技术", "软件", "网络科技", "数据科技", "云计算"],
    "finance": ["金融服务", "融资租赁", "投资", "保险代理", "小额贷款"],
    "healthcare": ["医疗器械", "医药", "生物科技", "健康管理"],
    "energy": ["能源", "电力", "新能源", "光伏科技", "燃气"],
    "education": ["教育科技", "职业教育", "培训"],
    "government": ["城市发展", "公共服务", "城建投资"],
    "retail": ["商贸", "零售", "连锁超市", "电子商务"],
    "logistics": ["物流", "供应链", "运输", "仓储"],
    "construction": ["建设工程", "建筑", "装饰工程", "路桥"],
}
SUFFIXES = ["有限公司", "有限公司", "有限公司", "股份有限公司", "集团有限公司"]

TITLES = ["总经理", "副总经理", "采购经理", "IT总监", "技术负责人", "财务总监", "项目经理", "运营总监",
          "信息中心主任", "工程部经理", "采购专员", "设备科长"]

PRODUCT_ITEMS = {
    "software": ["ERP实施", "MES系统", "CRM平台", "数据中台", "OA协同", "BI分析平台", "WMS仓储系统"],
    "engineering": ["产线改造工程", "机房建设", "智能化改造", "安装工程", "弱电工程", "厂区自动化"],
    "equipment": ["设备采购", "服务器采购", "检测设备", "自动化设备", "配电设备", "网络设备"],
}

SUBJECTS = {
    "wechat": ["微信沟通需求", "微信发送资料", "微信跟进进展", "微信确认会议时间"],
    "phone": ["电话沟通需求", "电话跟进报价", "电话回访", "电话确认预算"],
    "email": ["发送方案邮件", "发送报价单", "邮件确认技术要求", "发送会议纪要"],
    "social": ["社交媒体互动", "领英私信沟通"],
    "visit": ["现场拜访", "上门拜访决策人", "现场调研"],
    "meeting": ["视频会议", "方案评审会", "商务谈判会议", "需求澄清会"],
    "demo": ["产品演示", "系统试用演示", "样机演示"],
}

LOST_REASONS = ["价格过高", "选择了竞争对手", "预算取消", "需求变更", "项目延期", "决策人变动",
                "技术方案不匹配", "客户无回应"]

TASK_NAMES = ["需求调研", "方案设计", "系统开发", "设备采购", "安装调试", "数据迁移", "用户培训",
              "试运行", "验收准备", "项目验收", "集成测试", "现场勘察"]

NPS_COMMENTS = {
    "promoter": ["服务很好，响应及时", "交付质量高", "非常满意，会推荐给同行", "团队专业"],
    "passive": ["整体还可以", "交付略有延期", "价格偏高但质量不错", "希望响应更快"],
    "detractor": ["交付严重延期", "售后响应慢", "系统问题较多", "沟通不畅，不会再合作"],
}

CAMPAIGN_WORDS = {
    "trade_show": "工业博览会", "event": "客户交流会", "ads": "搜索广告投放", "social": "社交媒体推广",
    "wechat": "公众号推广", "email": "邮件营销", "website": "官网专题", "partner": "渠道伙伴大会",
    "referral": "老客户推荐计划", "phone": "电话营销",
}
# fmt: on

ORDINALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]


def pick(rng: np.random.Generator, words: list, n: int) -> np.ndarray:
    """n words drawn uniformly (object array)."""
    arr = np.empty(len(words), dtype=object)
    arr[:] = words
    return arr[rng.integers(0, len(words), size=n)]


def person_names(rng: np.random.Generator, n: int) -> tuple[list[str], list[str]]:
    """(Chinese names, pinyin handles like 'wei.zhang') for n people."""
    s = rng.integers(0, len(SURNAMES), size=n)
    g1 = rng.integers(0, len(GIVEN), size=n)
    g2 = rng.integers(0, len(GIVEN), size=n)
    two = rng.random(n) < 0.6
    zh, py = [], []
    for i in range(n):
        sz, sp = SURNAMES[s[i]]
        a_zh, a_py = GIVEN[g1[i]]
        if two[i]:
            b_zh, b_py = GIVEN[g2[i]]
            zh.append(sz + a_zh + b_zh)
            py.append(f"{a_py}{b_py}.{sp}")
        else:
            zh.append(sz + a_zh)
            py.append(f"{a_py}.{sp}")
    return zh, py


def company_names(
    rng: np.random.Generator, cities: np.ndarray, industries: np.ndarray
) -> tuple[list[str], list[str], list[str]]:
    """(full company names, short names, web domains)."""
    n = len(cities)
    b = rng.integers(0, len(BRANDS), size=n)
    w = rng.random(n)
    sfx = rng.integers(0, len(SUFFIXES), size=n)
    full, short, domains = [], [], []
    for i in range(n):
        words = INDUSTRY_WORDS[industries[i]]
        brand, brand_py = BRANDS[b[i]]
        word = words[int(w[i] * len(words))]
        full.append(f"{cities[i]}{brand}{word}{SUFFIXES[sfx[i]]}")
        short.append(f"{brand}{word}")
        domains.append(f"{brand_py}{i % 97}.com")
    return full, short, domains


def phones(rng: np.random.Generator, n: int) -> list[str]:
    second = np.array(["3", "5", "7", "8", "9"])[rng.integers(0, 5, size=n)]
    rest = rng.integers(0, 1_000_000_000, size=n)
    return [f"1{a}{b:09d}" for a, b in zip(second, rest, strict=True)]
