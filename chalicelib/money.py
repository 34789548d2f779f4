"""Money: Decimal amounts in ISO 4217 currencies, and how a post shows them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# Active ISO 4217 codes (funds and precious-metal codes left out: nobody sells a laptop in XAU).
_ISO_4217 = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD
NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED
VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
"""
CURRENCIES = frozenset(_ISO_4217.split())
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "INR": "₹"}
CENT = Decimal("0.01")
# ISO 4217 minor units where they are not 2 (a yen has no cents; a Kuwaiti dinar has 1000 fils).
_NO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_DECIMALS = {**dict.fromkeys(_NO_DECIMALS.split(), 0), **dict.fromkeys(_THREE_DECIMALS.split(), 3)}


def format_money(amount: Decimal, currency: str) -> str:
    """``$1,299`` for whole amounts, ``$19.99`` otherwise; unknown symbols as ``1,299 CHF``."""
    whole = amount == amount.to_integral_value()
    text = f"{amount:,.0f}" if whole else f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def percent_off(price: Decimal, list_price: Decimal) -> int:
    return int(((list_price - price) / list_price * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def decimals(currency: str) -> int:
    """How many digits after the point an amount in ``currency`` has (ISO 4217 minor units)."""
    return _DECIMALS.get(currency, 2)


def format_amount(amount: Decimal | str, currency: str) -> str:
    """An exact amount for people reading a report: ``$107,286.00``, ``€24,680.00``, ``KWD 1,234.500``,
    ``¥1,200``: the currency's own decimals, thousands separated, a symbol where one is unambiguous."""
    places = decimals(currency)
    value = Decimal(amount).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{abs(value):,.{places}f}"
    sign = "-" if value < 0 else ""
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{currency} {text}"
