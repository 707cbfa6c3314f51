"""Words of opening hours in English, German, French, Spanish and Italian (accents removed)."""

from __future__ import annotations

# Full day names (and plurals) per language; index 0 = Monday.
DAY_NAMES: dict[str, int] = {}
_FULL = (
    "monday tuesday wednesday thursday friday saturday sunday",
    "montag dienstag mittwoch donnerstag freitag samstag sonntag",
    "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "lunes martes miercoles jueves viernes sabado domingo",
    "lunedi martedi mercoledi giovedi venerdi sabato domenica",
)
for _names in _FULL:
    for _i, _name in enumerate(_names.split()):
        DAY_NAMES[_name] = _i
        DAY_NAMES[_name + "s"] = _i  # mondays, montags, sabados
DAY_NAMES["sonnabend"] = 5
DAY_NAMES["sabati"] = 5
DAY_NAMES["domeniche"] = 6

# Abbreviations: accepted only next to another day word, a time, or range punctuation.
DAY_ABBREVIATIONS: dict[str, int] = {}
_SHORT = (
    "mon tue wed thu fri sat sun",
    "mo tu we th fr sa su",
    "mo di mi do fr sa so",
    "lun mar mer jeu ven sam dim",
    "lun mar mie jue vie sab dom",
    "lun mar mer gio ven sab dom",
)
for _names in _SHORT:
    for _i, _name in enumerate(_names.split()):
        DAY_ABBREVIATIONS.setdefault(_name, _i)
DAY_ABBREVIATIONS.update(tues=1, weds=2, thur=3, thurs=3)

# Phrases replaced by one marker word before the text is read (longest first).
PHRASES: dict[str, str] = {
    # around the clock
    "24 hours a day, 7 days a week": " roundtheclock ",
    "24 hours a day": " roundtheclock ",
    "24 hours": " roundtheclock ",
    "24 hrs": " roundtheclock ",
    "24/7": " roundtheclock ",
    "24h/24": " roundtheclock ",
    "24 h/24": " roundtheclock ",
    "24 heures sur 24": " roundtheclock ",
    "24 stunden": " roundtheclock ",
    "rund um die uhr": " roundtheclock ",
    "around the clock": " roundtheclock ",
    "round the clock": " roundtheclock ",
    "24 horas": " roundtheclock ",
    "24 ore su 24": " roundtheclock ",
    "24 ore": " roundtheclock ",
    "24h": " roundtheclock ",
    # every day
    "7 days a week": " daily ",
    "seven days a week": " daily ",
    "every day": " daily ",
    "each day": " daily ",
    "all week": " daily ",
    "jeden tag": " daily ",
    "taglich": " daily ",
    "tous les jours": " daily ",
    "chaque jour": " daily ",
    "7 jours sur 7": " daily ",
    "7j/7": " daily ",
    "quotidiennement": " daily ",
    "todos los dias": " daily ",
    "a diario": " daily ",
    "diariamente": " daily ",
    "tutti i giorni": " daily ",
    "ogni giorno": " daily ",
    "giornalmente": " daily ",
    "tutta la settimana": " daily ",
    # weekdays and weekends
    "working days": " weekdays ",
    "business days": " weekdays ",
    "an wochentagen": " weekdays ",
    "wochentags": " weekdays ",
    "werktags": " weekdays ",
    "werktage": " weekdays ",
    "en semaine": " weekdays ",
    "jours ouvrables": " weekdays ",
    "entre semana": " weekdays ",
    "dias laborables": " weekdays ",
    "de lunes a viernes": " mon - fri ",
    "giorni feriali": " weekdays ",
    "nei giorni feriali": " weekdays ",
    "week-ends": " weekends ",
    "week-end": " weekends ",
    "am wochenende": " weekends ",
    "wochenenden": " weekends ",
    "wochenende": " weekends ",
    "fines de semana": " weekends ",
    "fin de semana": " weekends ",
    "fine settimana": " weekends ",
    # public holidays
    "public holidays": " holidays ",
    "bank holidays": " holidays ",
    "feiertagen": " holidays ",
    "feiertage": " holidays ",
    "feiertags": " holidays ",
    "feiertag": " holidays ",
    "jours feries": " holidays ",
    "dias festivos": " holidays ",
    "festivos": " holidays ",
    "giorni festivi": " holidays ",
    "festivi": " holidays ",
    # until
    "jusqu'a": " until ",
    "jusqu a": " until ",
    "fino alle": " until ",
    "fino a": " until ",
    "hasta las": " until ",
    "hasta la": " until ",
    # noon and midnight
    "12 noon": " noon ",
    "sonn- und feiertage": " sonntag und holidays ",
    "sonn- und feiertags": " sonntag und holidays ",
    "sonn- und feiertagen": " sonntag und holidays ",
    "fino all'": " until ",
    "all'": " alle ",
    "12 midnight": " midnight ",
}

WORDS: dict[str, str] = {
    "daily": "daily",
    "everyday": "daily",
    "weekdays": "weekdays",
    "weekday": "weekdays",
    "weekends": "weekends",
    "weekend": "weekends",
    "holidays": "holidays",
    "holiday": "holidays",
    "closed": "closed",
    "geschlossen": "closed",
    "ruhetag": "closed",
    "ferme": "closed",
    "fermee": "closed",
    "fermes": "closed",
    "fermeture": "closed",
    "cerrado": "closed",
    "cerrada": "closed",
    "cerrados": "closed",
    "chiuso": "closed",
    "chiusa": "closed",
    "chiusi": "closed",
    "except": "except",
    "excluding": "except",
    "ausser": "except",
    "sauf": "except",
    "excepto": "except",
    "salvo": "except",
    "menos": "except",
    "tranne": "except",
    "eccetto": "except",
    "until": "until",
    "till": "until",
    "til": "until",
    "hasta": "until",
    "bis": "to",
    "to": "to",
    "through": "to",
    "thru": "to",
    "au": "to",
    "al": "to",
    "a": "to",
    "alle": "to",
    "alla": "to",
    "and": "and",
    "und": "and",
    "et": "and",
    "y": "and",
    "e": "and",
    "roundtheclock": "h24",
}

MONTHS: dict[str, int] = {}
_MONTHS = (
    "january february march april may june july august september october november december",
    "januar februar marz april mai juni juli august september oktober november dezember",
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre",
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "jan feb mar apr may jun jul aug sep oct nov dec",
    "jan feb mar apr mai jun jul aug sept okt nov dez",
    "janv fevr mars avr mai juin juil aout sept oct nov dec",
)
for _names in _MONTHS:
    for _i, _name in enumerate(_names.split()):
        MONTHS.setdefault(_name, _i + 1)
MONTHS["maerz"] = 3
MONTHS["jaenner"] = 1
MONTHS["janner"] = 1

MIDNIGHT = {"midnight", "mitternacht", "minuit", "medianoche", "mezzanotte"}
NOON = {"noon", "midday", "mittag", "midi", "mediodia", "mezzogiorno"}
