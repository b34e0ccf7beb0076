"""Finnish terms of the domain and the English names we use for them."""

TERMS = {
    "ammatillinen koulutus": "vocational education and training (VET)",
    "koulutuksen järjestäjä": "education provider",
    "tiedolla johtaminen": "leading with data",
    "opiskelija": "student",
    "henkilötunnus (hetu)": "Finnish personal identity code: `hetu`; never published, masked by its shape wherever "
    "a steward sees a value (`*******912X`: no birth date)",
    "oppijanumero": "national learner OID: `learner_oid`",
    "opiskeluoikeus": "study right: `study_right_id` in the exports; published only as `study_right_key`, a keyed "
    "pseudonym (the local id names its student)",
    "opiskeluoikeusjakso": "status period: a row of `fact_status_period`",
    "opiskeluoikeuden tila": "status (`lasna`, `loma`, `valmistunut`, …)",
    "läsnä (lasna)": "present",
    "loma": "holiday",
    "väliaikaisesti keskeytynyt": "temporarily interrupted",
    "valmistunut": "graduated",
    "eronnut": "dropped out (resigned)",
    "katsotaan eronneeksi": "considered to have dropped out",
    "opintojen rahoitus": "funding code: `funding_code`",
    "suorituksen tyyppi (suoritustyyppi)": "study right type: `study_right_type`",
    "koulutus": "qualification (6-digit code): `koulutus_code`",
    "perustutkinto / ammattitutkinto / erikoisammattitutkinto": (
        "vocational upper secondary / further / specialist qualification"
    ),
    "osaamisala": "competence area: `osaamisala_code`",
    "toimipiste": "campus: `campus`, `dim_campus`",
    "tutkinnon osa": "qualification unit: `fact_assessed_unit`",
    "osaamispiste (osp)": "competence point: `credits`",
    "tunnustettu": "recognised prior learning: `recognised`",
    "työpaikalla järjestettävä koulutus": "workplace learning: `fact_workplace_period`",
    "koulutussopimus / oppisopimus": "training agreement / apprenticeship: `agreement_type`",
    "Y-tunnus": "Finnish business id: `business_id` (1234567-8)",
    "opiskelijavuosi": "student-year: days in counted statuses / 365 (`fact_student_year_month`)",
    "opiskelijavuositiedot": "KOSKI's per-study-right student-year report: `tiedolla student-years`",
    "suoritustyyppi": "kind of study right (ammatillinentutkinto, telma, …): `study_right_type`",
    "tila alkanut": "the day an unbroken run of the same status began: `status_began`",
    "kustannusryhmä": "cost group of a qualification: `cost_group` (weights, decree 1244/2020)",
    "ennuste": "forecast: `mart_student_year_forecast`",
    "aloittaja / aloitukset": "new student (starter) / intakes: `planned_starters` (the intake plan, "
    "`landing/plans/<date>/aloitukset.csv`), `actual_starters`",
    "aloituspaikat": "intake places a provider plans per year: the source of its intake plan",
    "lisäaloittajat": "additional starters that bring the year to the target: `additional_starters_*`",
    "myöhässä kirjattu (jälkikirjaus)": "late recording: a status change recorded after its date "
    "(`pipelines/marts/late_recording.py`)",
    "tavoite": "target: `fact_student_year_target`",
    "lisätiedot": (
        "additional periods: `fact_additional_period` (osa-aikaisuus = part-time, majoitus = accommodation, "
        "erityinen tuki = special support)"
    ),
    "karanteeni": "quarantine: rows held back with their reasons",
    "asiakkuudenhallinta (CRM)": "customer relationship management: the `crm` source",
    "asiakas / tili (account)": "a CRM account: `account_id`; several can be one organisation (`dim_organization`)",
    "Työnantaja / Kumppani / Oppilaitos / Julkinen sektori": "CRM customer type: employer / partner / "
    "educational_institution / public_sector (`customer_type`)",
    "Strateginen kumppani / Yhteistyökumppani": "partnership level: strategic_partner / partner (`level`)",
    "henkilöstökoulutus / rekrytointi / kehittäminen": "partnership scope: staff_training / recruitment / development",
    "työelämäfoorumi": "working-life forum, a CRM activity type: `tyoelamafoorumi`",
    "yritysmuoto (Oy, Oy Ab, Ky, Tmi, …)": "company form: ignored when names are compared (`company_forms`)",
    "kohderyhmä / segmentti": "customer segment: `mart_customer_segments.segment`",
    "suositteluhalukkuus (NPS)": "Net Promoter Score: `nps`, `nps_score`",
    "tietojen laatu / tiedon omistaja (data steward)": (
        "data quality / the person who gets bad rows fixed at the source"
    ),
    "poikkeuslupa": "waiver: a failure published with a flag until it expires (`tiedolla waive`)",
    "korjauslista": "correction list: `reports/steward/corrections_<system>.csv`",
    "johdon työpöytä": "management dashboard: `reports/dashboard/index.html`",
}
