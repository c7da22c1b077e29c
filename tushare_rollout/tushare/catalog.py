"""Every Tushare API in scope, as one declarative table.

One row per API: its output fields (name and wire type, in the documented order), the fields
returned only when asked for, the natural key, the documented single-call row cap, the input
parameters (``*`` marks required ones) and what access it needs — a points tier, or one of the
separately sold permissions (``minutes``, ``realtime``, ``premarket``).

Both the client (typed conversion, paging) and the local server (what to answer, which token
may ask) read this table; nothing else lists APIs.
"""

from __future__ import annotations

from dataclasses import dataclass

SEPARATE_PERMISSIONS = ("minutes", "realtime", "premarket")


@dataclass(frozen=True)
class Api:
    name: str
    title: str
    fields: tuple[tuple[str, str], ...]  # (name, wire type: str | float | int)
    hidden: tuple[str, ...]  # returned only when listed in `fields`
    key: tuple[str, ...]
    max_rows: int | None  # documented single-call cap; None = not documented
    params: tuple[str, ...]  # input parameters, required ones marked with a trailing '*'
    access: int | str  # points needed, or a separate permission name

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fields)

    @property
    def default_fields(self) -> tuple[str, ...]:
        """What a call without ``fields`` returns. Where the documentation marks every field as
        not-default (``cn_pmi``), that cannot be meant literally: everything is returned."""
        shown = tuple(n for n in self.field_names if n not in self.hidden)
        return shown or self.field_names

    @property
    def required_params(self) -> tuple[str, ...]:
        return tuple(p[:-1] for p in self.params if p.endswith("*"))


def _api(name: str, title: str, fields: str, *, key: str, max_rows: int | None, params: str,
         access: int | str, hidden: str = "") -> Api:
    return Api(
        name=name,
        title=title,
        fields=tuple((f.split(":")[0], f.split(":")[1]) for f in fields.split()),
        hidden=tuple(hidden.split()),
        key=tuple(key.split()),
        max_rows=max_rows,
        params=tuple(params.split()),
        access=access,
    )


APIS: dict[str, Api] = {a.name: a for a in [
    _api(
        "trade_cal", "交易日历",
        "exchange:str cal_date:str is_open:str pretrade_date:str",
        key="exchange cal_date", max_rows=None, params="exchange start_date end_date is_open", access=2000,
    ),
    _api(
        "stock_basic", "股票列表(基础信息)",
        (
            "ts_code:str symbol:str name:str area:str industry:str fullname:str enname:str "
            "cnspell:str market:str exchange:str curr_type:str list_status:str list_date:str "
            "delist_date:str is_hs:str act_name:str act_ent_type:str"
        ),
        key="ts_code", max_rows=None, params="ts_code name market list_status exchange is_hs", access=2000,
        hidden="fullname enname exchange curr_type list_status delist_date is_hs",
    ),
    _api(
        "fund_basic", "公募基金列表 (ETF: market='E')",
        (
            "ts_code:str name:str management:str custodian:str fund_type:str found_date:str "
            "due_date:str list_date:str issue_date:str delist_date:str issue_amount:float m_fee:float "
            "c_fee:float duration_year:float p_value:float min_amount:float exp_return:float "
            "benchmark:str status:str invest_type:str type:str trustee:str purc_startdate:str "
            "redm_startdate:str market:str"
        ),
        key="ts_code", max_rows=15000, params="ts_code market status", access=2000,
    ),
    _api(
        "index_basic", "指数基本信息",
        (
            "ts_code:str name:str fullname:str market:str publisher:str index_type:str category:str "
            "base_date:str base_point:float list_date:str weight_rule:str desc:str exp_date:str"
        ),
        key="ts_code", max_rows=None, params="ts_code name market publisher category", access=2000,
    ),
    _api(
        "fut_basic", "期货合约信息表",
        (
            "ts_code:str symbol:str exchange:str name:str fut_code:str multiplier:float "
            "trade_unit:str per_unit:float quote_unit:str quote_unit_desc:str d_mode_desc:str "
            "list_date:str delist_date:str d_month:str last_ddate:str trade_time_desc:str"
        ),
        key="ts_code", max_rows=10000, params="exchange* fut_type fut_code list_date", access=2000,
        hidden="trade_time_desc",
    ),
    _api(
        "daily", "A股日线行情(未复权)",
        (
            "ts_code:str trade_date:str open:float high:float low:float close:float pre_close:float "
            "change:float pct_chg:float vol:float amount:float ah_vol:float ah_amount:float"
        ),
        key="ts_code trade_date", max_rows=6000, params="ts_code trade_date start_date end_date", access=120,
        hidden="ah_vol ah_amount",
    ),
    _api(
        "adj_factor", "复权因子",
        "ts_code:str trade_date:str adj_factor:float",
        key="ts_code trade_date", max_rows=None, params="ts_code trade_date start_date end_date", access=2000,
    ),
    _api(
        "daily_basic", "每日指标",
        (
            "ts_code:str trade_date:str close:float turnover_rate:float turnover_rate_f:float "
            "volume_ratio:float pe:float pe_ttm:float pb:float ps:float ps_ttm:float dv_ratio:float "
            "dv_ttm:float total_share:float float_share:float free_share:float total_mv:float "
            "circ_mv:float limit_status:int"
        ),
        key="ts_code trade_date", max_rows=6000, params="ts_code trade_date start_date end_date", access=2000,
        hidden="limit_status",
    ),
    _api(
        "suspend_d", "每日停复牌信息",
        "ts_code:str trade_date:str suspend_timing:str suspend_type:str",
        key="ts_code trade_date suspend_type", max_rows=5000,
        params="ts_code trade_date start_date end_date suspend_type", access=2000,
    ),
    _api(
        "fund_daily", "ETF(场内基金)日线行情",
        (
            "ts_code:str trade_date:str open:float high:float low:float close:float pre_close:float "
            "change:float pct_chg:float vol:float amount:float"
        ),
        key="ts_code trade_date", max_rows=2000, params="ts_code trade_date start_date end_date", access=5000,
    ),
    _api(
        "fund_adj", "基金复权因子",
        "ts_code:str trade_date:str adj_factor:float",
        key="ts_code trade_date", max_rows=2000, params="ts_code trade_date start_date end_date offset limit", access=600,
    ),
    _api(
        "index_daily", "指数日线行情",
        (
            "ts_code:str trade_date:str close:float open:float high:float low:float pre_close:float "
            "change:float pct_chg:float vol:float amount:float"
        ),
        key="ts_code trade_date", max_rows=8000, params="ts_code* trade_date start_date end_date", access=2000,
    ),
    _api(
        "index_weight", "指数成分和权重(月度)",
        "index_code:str con_code:str trade_date:str weight:float",
        key="index_code con_code trade_date", max_rows=None, params="index_code* trade_date start_date end_date", access=2000,
    ),
    _api(
        "fut_daily", "期货日线行情",
        (
            "ts_code:str trade_date:str pre_close:float pre_settle:float open:float high:float "
            "low:float close:float settle:float change1:float change2:float vol:float amount:float "
            "oi:float oi_chg:float delv_settle:float"
        ),
        key="ts_code trade_date", max_rows=2000, params="trade_date ts_code exchange start_date end_date", access=2000,
        hidden="delv_settle",
    ),
    _api(
        "sge_daily", "上海黄金现货日行情",
        (
            "ts_code:str trade_date:str close:float open:float high:float low:float price_avg:float "
            "change:float pct_change:float vol:float amount:float oi:float settle_vol:float "
            "settle_dire:str"
        ),
        key="ts_code trade_date", max_rows=2000, params="ts_code trade_date start_date end_date", access=2000,
    ),
    _api(
        "sge_basic", "上海黄金现货基础信息",
        (
            "ts_code:str ts_name:str trade_type:str t_unit:float p_unit:float min_change:float "
            "price_limit:float min_vol:int max_vol:int trade_mode:str margin_rate:float "
            "liq_rate:float trade_time:str list_date:str"
        ),
        key="ts_code", max_rows=100, params="ts_code", access=5000,
    ),
    _api(
        "fx_obasic", "外汇基础信息(海外, FXCM)",
        (
            "ts_code:str name:str classify:str exchange:str min_unit:float max_unit:float pip:float "
            "pip_cost:float traget_spread:float min_stop_distance:float trading_hours:str "
            "break_time:str"
        ),
        key="ts_code", max_rows=None, params="exchange classify ts_code", access=2000,
    ),
    _api(
        "fx_daily", "外汇日线行情",
        (
            "ts_code:str trade_date:str bid_open:float bid_close:float bid_high:float bid_low:float "
            "ask_open:float ask_close:float ask_high:float ask_low:float tick_qty:int exchange:str"
        ),
        key="ts_code trade_date", max_rows=1000, params="ts_code trade_date start_date end_date exchange", access=2000,
        hidden="exchange",
    ),
    _api(
        "cn_gdp", "国内生产总值(GDP)",
        (
            "quarter:str gdp:float gdp_yoy:float pi:float pi_yoy:float si:float si_yoy:float ti:float "
            "ti_yoy:float"
        ),
        key="quarter", max_rows=10000, params="q start_q end_q", access=600,
    ),
    _api(
        "cn_cpi", "居民消费价格指数(CPI)",
        (
            "month:str nt_val:float nt_yoy:float nt_mom:float nt_accu:float town_val:float "
            "town_yoy:float town_mom:float town_accu:float cnt_val:float cnt_yoy:float cnt_mom:float "
            "cnt_accu:float"
        ),
        key="month", max_rows=5000, params="m start_m end_m", access=600,
    ),
    _api(
        "cn_ppi", "工业生产者出厂价格指数(PPI)",
        (
            "month:str ppi_yoy:float ppi_mp_yoy:float ppi_mp_qm_yoy:float ppi_mp_rm_yoy:float "
            "ppi_mp_p_yoy:float ppi_cg_yoy:float ppi_cg_f_yoy:float ppi_cg_c_yoy:float "
            "ppi_cg_adu_yoy:float ppi_cg_dcg_yoy:float ppi_mom:float ppi_mp_mom:float "
            "ppi_mp_qm_mom:float ppi_mp_rm_mom:float ppi_mp_p_mom:float ppi_cg_mom:float "
            "ppi_cg_f_mom:float ppi_cg_c_mom:float ppi_cg_adu_mom:float ppi_cg_dcg_mom:float "
            "ppi_accu:float ppi_mp_accu:float ppi_mp_qm_accu:float ppi_mp_rm_accu:float "
            "ppi_mp_p_accu:float ppi_cg_accu:float ppi_cg_f_accu:float ppi_cg_c_accu:float "
            "ppi_cg_adu_accu:float ppi_cg_dcg_accu:float"
        ),
        key="month", max_rows=5000, params="m start_m end_m", access=600,
    ),
    _api(
        "cn_m", "货币供应量(月)",
        (
            "month:str m0:float m0_yoy:float m0_mom:float m1:float m1_yoy:float m1_mom:float m2:float "
            "m2_yoy:float m2_mom:float"
        ),
        key="month", max_rows=5000, params="m start_m end_m", access=600,
    ),
    _api(
        "shibor", "Shibor利率",
        "date:str on:float 1w:float 2w:float 1m:float 3m:float 6m:float 9m:float 1y:float",
        key="date", max_rows=2000, params="date start_date end_date", access=120,
    ),
    _api(
        "cn_pmi", "采购经理指数(PMI)",
        (
            "month:str pmi010000:float pmi010100:float pmi010200:float pmi010300:float "
            "pmi010400:float pmi010401:float pmi010402:float pmi010403:float pmi010500:float "
            "pmi010501:float pmi010502:float pmi010503:float pmi010600:float pmi010601:float "
            "pmi010602:float pmi010603:float pmi010700:float pmi010701:float pmi010702:float "
            "pmi010703:float pmi010800:float pmi010801:float pmi010802:float pmi010803:float "
            "pmi010900:float pmi011000:float pmi011100:float pmi011200:float pmi011300:float "
            "pmi011400:float pmi011500:float pmi011600:float pmi011700:float pmi011800:float "
            "pmi011900:float pmi012000:float pmi020100:float pmi020101:float pmi020102:float "
            "pmi020200:float pmi020201:float pmi020202:float pmi020300:float pmi020301:float "
            "pmi020302:float pmi020400:float pmi020401:float pmi020402:float pmi020500:float "
            "pmi020501:float pmi020502:float pmi020600:float pmi020601:float pmi020602:float "
            "pmi020700:float pmi020800:float pmi020900:float pmi021000:float pmi030000:float"
        ),
        key="month", max_rows=2000, params="m start_m end_m", access=2000,
        hidden=(
            "month pmi010000 pmi010100 pmi010200 pmi010300 pmi010400 pmi010401 pmi010402 pmi010403 "
            "pmi010500 pmi010501 pmi010502 pmi010503 pmi010600 pmi010601 pmi010602 pmi010603 "
            "pmi010700 pmi010701 pmi010702 pmi010703 pmi010800 pmi010801 pmi010802 pmi010803 "
            "pmi010900 pmi011000 pmi011100 pmi011200 pmi011300 pmi011400 pmi011500 pmi011600 "
            "pmi011700 pmi011800 pmi011900 pmi012000 pmi020100 pmi020101 pmi020102 pmi020200 "
            "pmi020201 pmi020202 pmi020300 pmi020301 pmi020302 pmi020400 pmi020401 pmi020402 "
            "pmi020500 pmi020501 pmi020502 pmi020600 pmi020601 pmi020602 pmi020700 pmi020800 "
            "pmi020900 pmi021000 pmi030000"
        ),
    ),
    _api(
        "us_tycr", "美国国债收益率曲线利率(日频)",
        (
            "date:str m1:float m2:float m3:float m4:float m6:float y1:float y2:float y3:float "
            "y5:float y7:float y10:float y20:float y30:float"
        ),
        key="date", max_rows=2000, params="date start_date end_date", access=120,
    ),
    _api(
        "us_trycr", "美国国债实际收益率曲线利率",
        "date:str y5:float y7:float y10:float y20:float y30:float",
        key="date", max_rows=2000, params="date start_date end_date", access=120,
    ),
    _api(
        "us_tbr", "美国短期国债利率",
        (
            "date:str w4_bd:float w4_ce:float w8_bd:float w8_ce:float w13_bd:float w13_ce:float "
            "w17_bd:float w17_ce:float w26_bd:float w26_ce:float w52_bd:float w52_ce:float"
        ),
        key="date", max_rows=2000, params="date start_date end_date", access=120,
    ),
    _api(
        "us_tltr", "美国国债长期利率",
        "date:str ltc:float cmt:float e_factor:float",
        key="date", max_rows=2000, params="date start_date end_date", access=120,
    ),
    _api(
        "rt_idx_k", "交易所指数实时日线",
        (
            "ts_code:str name:str trade_time:str close:float pre_close:float high:float open:float "
            "low:float vol:float amount:float"
        ),
        key="ts_code trade_time", max_rows=None, params="ts_code*", access='realtime',
    ),
    _api(
        "rt_idx_min", "交易所指数实时分钟",
        "ts_code:str time:str open:float close:float high:float low:float vol:float amount:float",
        key="ts_code freq time", max_rows=1000, params="freq* ts_code*", access='realtime',
    ),
    _api(
        "idx_mins", "指数历史分钟行情",
        (
            "ts_code:str trade_time:str open:float close:float high:float low:float vol:int "
            "amount:float"
        ),
        key="ts_code freq trade_time", max_rows=8000, params="ts_code* freq* start_date end_date", access='minutes',
    ),
    _api(
        "rt_etf_k", "ETF实时日线",
        (
            "ts_code:str name:str pre_close:float high:float open:float low:float close:float vol:int "
            "amount:int num:int ask_volume1:int bid_volume1:int trade_time:str"
        ),
        key="ts_code trade_time", max_rows=2000, params="ts_code* topic*", access='realtime',
        hidden="ask_volume1 bid_volume1 trade_time",
    ),
    _api(
        "rt_min", "A股/ETF实时分钟",
        "ts_code:str time:str open:float close:float high:float low:float vol:float amount:float",
        key="ts_code freq time", max_rows=1000, params="freq* ts_code*", access='realtime',
    ),
    _api(
        "stk_mins", "股票/ETF历史分钟行情",
        (
            "ts_code:str trade_time:str open:float close:float high:float low:float vol:int "
            "amount:float"
        ),
        key="ts_code freq trade_time", max_rows=8000, params="ts_code* freq* start_date end_date", access='minutes',
    ),
    _api(
        "ft_mins", "期货历史分钟行情",
        (
            "ts_code:str trade_time:str open:float close:float high:float low:float vol:int "
            "amount:float oi:float"
        ),
        key="ts_code freq trade_time", max_rows=8000, params="ts_code* freq* start_date end_date", access='minutes',
    ),
    _api(
        "fut_wsr", "仓单日报",
        (
            "trade_date:str symbol:str fut_name:str warehouse:str wh_id:str pre_vol:int vol:int "
            "vol_chg:int area:str year:str grade:str brand:str place:str pd:int is_ct:str unit:str "
            "exchange:str"
        ),
        key="trade_date exchange symbol warehouse wh_id grade brand", max_rows=1000, params="trade_date symbol start_date end_date exchange", access=2000,
        hidden="wh_id area year grade brand place pd is_ct exchange",
    ),
    _api(
        "fut_holding", "每日成交持仓排名(席位)",
        (
            "trade_date:str symbol:str broker:str vol:int vol_chg:int long_hld:int long_chg:int "
            "short_hld:int short_chg:int exchange:str"
        ),
        key="trade_date exchange symbol broker", max_rows=2000, params="trade_date symbol start_date end_date exchange", access=2000,
        hidden="exchange",
    ),
    _api(
        "stk_premarket", "每日股本(盘前)",
        (
            "trade_date:str ts_code:str total_share:float float_share:float pre_close:float "
            "up_limit:float down_limit:float"
        ),
        key="ts_code trade_date", max_rows=8000, params="ts_code trade_date start_date end_date", access='premarket',
    ),
    _api(
        "eco_cal", "全球财经事件(财经日历)",
        (
            "date:str time:str currency:str country:str event:str value:str pre_value:str "
            "fore_value:str"
        ),
        key="date time country event", max_rows=100, params="date start_date end_date currency country event", access=2000,
    ),
    _api(
        "cn_schedule", "国内宏观数据发布日程 (release schedule)",
        "month:str publish_date:str title:str issuing_org:str data_api:str",
        key="month publish_date title issuing_org", max_rows=3000, params="m title", access=2000,
    ),
]}
