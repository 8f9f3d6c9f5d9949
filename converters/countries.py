"""Country codes in RaceEntry's form: RaceEntry's answers carry ISO 3166 three-letter codes ("USA",
"CAN"); a timer types "US", "AU" or "CH" for a late entry. :func:`code` gives the three-letter form, so
"US" and "USA" are one country when compared and what is sent is what RaceEntry itself would say."""

from __future__ import annotations

from typing import Any

# ISO 3166-1: two-letter code, three-letter code (and Kosovo's user-assigned XK/XKX).
_PAIRS = """
AD AND AE ARE AF AFG AG ATG AI AIA AL ALB AM ARM AO AGO AQ ATA AR ARG AS ASM AT AUT AU AUS AW ABW AX ALA AZ
AZE BA BIH BB BRB BD BGD BE BEL BF BFA BG BGR BH BHR BI BDI BJ BEN BL BLM BM BMU BN BRN BO BOL BQ BES BR BRA
BS BHS BT BTN BV BVT BW BWA BY BLR BZ BLZ CA CAN CC CCK CD COD CF CAF CG COG CH CHE CI CIV CK COK CL CHL CM
CMR CN CHN CO COL CR CRI CU CUB CV CPV CW CUW CX CXR CY CYP CZ CZE DE DEU DJ DJI DK DNK DM DMA DO DOM DZ DZA
EC ECU EE EST EG EGY EH ESH ER ERI ES ESP ET ETH FI FIN FJ FJI FK FLK FM FSM FO FRO FR FRA GA GAB GB GBR GD
GRD GE GEO GF GUF GG GGY GH GHA GI GIB GL GRL GM GMB GN GIN GP GLP GQ GNQ GR GRC GS SGS GT GTM GU GUM GW GNB
GY GUY HK HKG HM HMD HN HND HR HRV HT HTI HU HUN ID IDN IE IRL IL ISR IM IMN IN IND IO IOT IQ IRQ IR IRN IS
ISL IT ITA JE JEY JM JAM JO JOR JP JPN KE KEN KG KGZ KH KHM KI KIR KM COM KN KNA KP PRK KR KOR KW KWT KY CYM
KZ KAZ LA LAO LB LBN LC LCA LI LIE LK LKA LR LBR LS LSO LT LTU LU LUX LV LVA LY LBY MA MAR MC MCO MD MDA ME
MNE MF MAF MG MDG MH MHL MK MKD ML MLI MM MMR MN MNG MO MAC MP MNP MQ MTQ MR MRT MS MSR MT MLT MU MUS MV MDV
MW MWI MX MEX MY MYS MZ MOZ NA NAM NC NCL NE NER NF NFK NG NGA NI NIC NL NLD NO NOR NP NPL NR NRU NU NIU NZ
NZL OM OMN PA PAN PE PER PF PYF PG PNG PH PHL PK PAK PL POL PM SPM PN PCN PR PRI PS PSE PT PRT PW PLW PY PRY
QA QAT RE REU RO ROU RS SRB RU RUS RW RWA SA SAU SB SLB SC SYC SD SDN SE SWE SG SGP SH SHN SI SVN SJ SJM SK
SVK SL SLE SM SMR SN SEN SO SOM SR SUR SS SSD ST STP SV SLV SX SXM SY SYR SZ SWZ TC TCA TD TCD TF ATF TG TGO
TH THA TJ TJK TK TKL TL TLS TM TKM TN TUN TO TON TR TUR TT TTO TV TUV TW TWN TZ TZA UA UKR UG UGA UM UMI US
USA UY URY UZ UZB VA VAT VC VCT VE VEN VG VGB VI VIR VN VNM VU VUT WF WLF WS WSM YE YEM YT MYT ZA ZAF ZM ZMB
ZW ZWE XK XKX
""".split()
ALPHA3 = dict(zip(_PAIRS[::2], _PAIRS[1::2]))
US = {"US", "USA"}


def code(value: Any) -> str:
    """A country code in RaceEntry's form: a two-letter ISO code as its three letters ("us" -> "USA");
    anything else upper-cased and stripped, as typed."""
    text = str(value or "").strip().upper()
    return ALPHA3.get(text, text)


def in_us(country: Any, race_country: Any = None) -> bool:
    """Whether a postcode is a US ZIP code: the row's country is the US, or it is blank and the race is
    in the US (or the race's country is not known: RaceEntry's races are American unless they say
    otherwise)."""
    row = code(country)
    if row:
        return row in US
    race = code(race_country)
    return not race or race in US


def race_country(race: Any) -> str | None:
    """The country of the race a races response, ``{"race": {...}}``, one race object or a list of them
    describes (RaceEntry's form); None when not known (no address, or races in several countries)."""
    if isinstance(race, dict) and isinstance(race.get("races"), list):
        race = race["races"]
    found = set()
    for item in race if isinstance(race, list) else [race]:
        if isinstance(item, dict) and isinstance(item.get("race"), dict):
            item = item["race"]
        address = item.get("address") if isinstance(item, dict) else None
        found.add(code(address.get("country_code")) if isinstance(address, dict) else "")
    return found.pop() or None if len(found) == 1 else None
