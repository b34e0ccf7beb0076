"""KOSKI's opiskelijavuositiedot workbook as KOSKI writes it, built for the tests from KOSKI's own definition.

Nothing here comes from the pipeline: the headers of each version are copied from KOSKI's code and texts
(Opetushallitus/koski: ``AmmatillinenOpiskelijavuositiedotRaportti.columnSettings`` and the
``raportti-excel-kolumni-*`` texts of ``koski-default-texts.json``, at the commits named below), and the workbook
is written the way KOSKI's ``ExcelWriter`` has Apache POI's streaming writer (SXSSF) write it: the data sheet
``Opiskeluoikeudet`` first, then ``Ohjeet``; strings as inline strings in the text style; a date as a date serial
in ``yyyy-MM-dd``; an Int as a plain number; a Double in ``#.0`` (0 in the default style); a Boolean as the number
1 or 0 in the style ``"kyllä";;"ei";``; an empty Option as no cell at all. KOSKI encrypts it with the user's
password (POI's ``EncryptionMode.agile``), which msoffcrypto-tool does here.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from xml.sax.saxutils import escape

from msoffcrypto.format.ooxml import OOXMLFile

_IDENTITY = (
    "Opiskeluoikeuden oid",
    "Lähdejärjestelmä",
    "Opiskeluoikeuden tunniste lähdejärjestelmässä",
    "Sisältyy opiskeluoikeuteen",
    "Korottaa opiskeluoikeuden",
    "Ostettu",
    "Sisältyvät opiskeluoikeudet",
    "Sisältyvien opiskeluoikeuksien oppilaitokset",
    "Päivitetty",
    "Toimipisteet",
    "Yksilöity",
    "Oppijan oid",
    "Oppijan master-oid",
    "Hetu",
    "Sukunimi",
    "Etunimet",
    "Suorituksen tyyppi",
    "Tutkinnot",
    "Päätason suorituksen nimi",
    "Osaamisalat",
    "Päätason suorituksen suoritustapa",
    "Opiskeluoikeuden alkamispäivä",
    "Viimeisin opiskeluoikeuden tila",
    "Viimeisin opiskeluoikeuden tila aikajakson lopussa",
    "Rahoitukset",
)
_ENDING = ("Päättynyt", "Päättymispäivä", "Arvioitu päättymispäivä")
_FUNDING_ENTERED = ("Läsnä rahoitus syötetty", "Loma/valmistunut rahoitus syötetty")
OLD_FORMULA_TODAY = "Opiskelijavuosikertymä (pv) - vanha laskentakaava (ennen v. 2026)"
CURRENT_FORMULA_TODAY = "Opiskelijavuosikertymä (pv) - nykyinen laskentakaava (1.7.2023 alkaen)"
_DAYS = (
    "Opiskelijavuoteen kuuluvat lomat (pv)",
    "Muut lomat (pv)",
    "Majoitus (pv)",
    "Sisäoppilaitosmainen majoitus (pv)",
    "Vaativan erityisen tuen yhteydessä järjestettävä majoitus (pv)",
    "Erityinen tuki (pv)",
    "Vaativa erityisen tuen tehtävä (pv)",
    "Hojks (pv)",
    "Vaikeasti vammaisten opetus (pv)",
    "Vammainen ja avustaja (pv)",
    "Osa-aikaisuusjaksot (prosentit)",
    "Osa-aikaisuus keskimäärin (%)",
    "Opiskeluvalmiuksia tukevat opinnot (pv)",
    "Vankilaopetuksessa (pv)",
    "Oppisopimus (pv)",
    "Henkilöstökoulutus",
    "Koulutusvienti",
    "Maksuttomuus",
    "Maksullisuus",
    "Oikeutta maksuttomuuteen pidennetty",
)


def _version(*, funding_entered, master_oid, old_formula, current_formula, demanding, raises=True):
    identity = tuple(h for h in _IDENTITY if (master_oid or h != "Oppijan master-oid"))
    identity = tuple(h for h in identity if raises or h != "Korottaa opiskeluoikeuden")
    days = tuple(
        "Vaativat erityisen tuen tehtävä (pv)" if h.startswith("Vaativa erityisen") and demanding else h for h in _DAYS
    )
    figures = (old_formula, "Läsnä tai valmistunut (pv)") + ((current_formula,) if current_formula else ())
    return identity + (_FUNDING_ENTERED if funding_entered else ()) + _ENDING + figures + days


#: KOSKI's headers by version of the file, newest first (KOSKI's commits: ad21cf7b20 2026-06-11, 91ab72cb4b
#: 2026-03-04, 292b455886 2026-02-19, 2567a695a2 2026-02-10, 9b79876b09 2025-10-02, 77d22608a7 2023-03-09,
#: dec0e2062d 2023-02-06)
VERSIONS: dict[str, tuple[str, ...]] = {
    "2026-06 (today)": _version(
        funding_entered=False,
        master_oid=True,
        old_formula=OLD_FORMULA_TODAY,
        current_formula=CURRENT_FORMULA_TODAY,
        demanding=False,
    ),
    "2026-03": _version(
        funding_entered=False,
        master_oid=True,
        old_formula=OLD_FORMULA_TODAY,
        current_formula="Opiskelijavuosikertymä (pv) - nykyinen laskentakaava (v. 2026 eteenpäin)",
        demanding=False,
    ),
    "2026-02-19": _version(
        funding_entered=False,
        master_oid=True,
        old_formula="Opiskelijavuosikertymä (pv)",
        current_formula="Opiskelijavuosikertymä 2026 (pv)",
        demanding=False,
    ),
    "2026-02-10": _version(
        funding_entered=False,
        master_oid=True,
        old_formula="Opiskelijavuosikertymä (pv)",
        current_formula=None,
        demanding=False,
    ),
    "2025-10": _version(
        funding_entered=False,
        master_oid=False,
        old_formula="Opiskelijavuosikertymä (pv)",
        current_formula=None,
        demanding=False,
    ),
    "2023-03": _version(
        funding_entered=True,
        master_oid=False,
        old_formula="Opiskelijavuosikertymä (pv)",
        current_formula=None,
        demanding=False,
    ),
    "2022": _version(
        funding_entered=True,
        master_oid=False,
        old_formula="Opiskelijavuosikertymä (pv)",
        current_formula=None,
        demanding=True,
        raises=False,
    ),
}
KOSKI_TODAY = VERSIONS["2026-06 (today)"]
#: the headers whose cells KOSKI writes as Boolean (1/0, shown kyllä/ei), LocalDate, Int and Double
BOOLEANS = {"Ostettu", "Yksilöity", "Päättynyt", "Henkilöstökoulutus", "Koulutusvienti", *_FUNDING_ENTERED}
DATES = {"Päivitetty", "Opiskeluoikeuden alkamispäivä", "Päättymispäivä", "Arvioitu päättymispäivä"}
DOUBLES = {"Opiskelijavuosikertymä (pv)", OLD_FORMULA_TODAY, CURRENT_FORMULA_TODAY, "Osa-aikaisuus keskimäärin (%)"}
DOUBLES |= {
    "Opiskelijavuosikertymä 2026 (pv)",
    "Opiskelijavuosikertymä (pv) - nykyinen laskentakaava (v. 2026 eteenpäin)",
}

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" \
ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" \
ContentType="application/xml"/><Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override \
PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
{sheets}</Types>"""
_SHEET_TYPE = '<Override PartName="/xl/worksheets/sheet{n}.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>\
</Relationships>"""
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="3">\
<numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/><numFmt numFmtId="165" formatCode="#.0"/>\
<numFmt numFmtId="166" formatCode="&quot;kyllä&quot;;;&quot;ei&quot;;"/></numFmts>\
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill \
patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border>\
<left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" \
fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" \
xfId="0"/><xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="true"/><xf \
numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="true"/><xf numFmtId="165" \
fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="true"/><xf numFmtId="166" fontId="0" fillId="0" \
borderId="0" xfId="0" applyNumberFormat="true"/></cellXfs></styleSheet>"""
TEXT, DATE, FLOAT, BOOLEAN = 1, 2, 3, 4


def _column(i: int) -> str:
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def _cell(ref: str, value) -> str:
    """One cell as SXSSF writes it for KOSKI (``ExcelWriter.setDataCellValue_``)."""
    if isinstance(value, bool):
        return f'<c r="{ref}" s="{BOOLEAN}"><v>{int(value)}</v></c>'
    if isinstance(value, dt.date):
        serial = (value - dt.date(1899, 12, 30)).days
        return f'<c r="{ref}" s="{DATE}"><v>{serial}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref}"><v>{value}</v></c>'
    if isinstance(value, float):
        return f'<c r="{ref}"{f" s={chr(34)}{FLOAT}{chr(34)}" if value else ""}><v>{value!r}</v></c>'
    return f'<c r="{ref}" s="{TEXT}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def sheet_xml(rows: list[list]) -> str:
    body = "".join(
        f'<row r="{r + 1}">'
        + "".join(_cell(f"{_column(c)}{r + 1}", v) for c, v in enumerate(row) if v is not None)
        + "</row>"
        for r, row in enumerate(rows)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main"><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft"'
        f' state="frozen"/></sheetView></sheetViews><sheetData>{body}</sheetData></worksheet>'
    )


def workbook(sheets: list[tuple[str, list[list]]]) -> bytes:
    """An .xlsx of ``sheets`` (name, rows of cell values) in the given order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        n = len(sheets)
        z.writestr(
            "[Content_Types].xml", _CONTENT_TYPES.format(sheets="".join(_SHEET_TYPE.format(n=i + 1) for i in range(n)))
        )
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="http://schemas.openxmlformats.org/'
            'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            "<sheets>"
            + "".join(
                f'<sheet name="{escape(name)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                for i, (name, _) in enumerate(sheets)
            )
            + "</sheets></workbook>",
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships">'
            + "".join(
                f'<Relationship Id="rId{i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                f'worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
                for i in range(n)
            )
            + f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'styles" Target="styles.xml"/></Relationships>',
        )
        z.writestr("xl/styles.xml", _STYLES)
        for i, (_, rows) in enumerate(sheets):
            z.writestr(f"xl/worksheets/sheet{i + 1}.xml", sheet_xml(rows))
    return out.getvalue()


def typed(header: str, value):
    """A value as KOSKI's row class types it for ``header`` (an Int day count, a Double figure, a Boolean, a date)."""
    if value is None:
        return None
    if header in BOOLEANS:
        return bool(value)
    if header in DATES:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    if header in DOUBLES:
        return float(value)
    if header.endswith("(pv)"):
        return int(round(float(value)))
    return str(value)


def koski_report(headers: tuple[str, ...], rows: list[dict], oppilaitos: str, first: dt.date, last: dt.date) -> bytes:
    """KOSKI's workbook: ``rows`` (header → value) under ``headers``, then the instructions sheet."""
    data = [list(headers)] + [[typed(h, row.get(h)) for h in headers] for row in rows]
    notes = [
        [
            "Opiskelijavuositiedot\nOppilaitoksen oid-tunniste: "
            f"{oppilaitos}\nAikajakso: {first:%d.%m.%Y} - {last:%d.%m.%Y}\nRaportti luotu: "
            f"{last + dt.timedelta(days=5):%d.%m.%Y} 08:15"
        ]
    ]
    return workbook([("Opiskeluoikeudet", data), ("Ohjeet", notes)])


def encrypted(plain: bytes, password: str) -> bytes:
    """The workbook encrypted as KOSKI does (Office agile encryption in an OLE2 compound file)."""
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(plain)).encrypt(password, out)
    return out.getvalue()


def file_name(oppilaitos: str, first: dt.date, last: dt.date) -> str:
    """KOSKI's file name (``AmmatillinenOpiskalijavuositiedotRaportti.filename``)."""
    return f"opiskelijavuositiedot_{oppilaitos}_{first:%Y%m%d}-{last:%Y%m%d}.xlsx"
