"""Keyword rules for the messages whose kind is not in doubt (English, German, French, Spanish).

Rules run before the nearest-example vote and win over it. Safety rules come first and are
deliberately broad: a false alarm costs a member of staff a minute, a missed one costs more.
Service rules only fire when the message asks for something (not "is there a shuttle?").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

INFORMATION = "information"
SERVICE = "service_request"
COMPLAINT = "complaint"
SAFETY = "safety"
SMALL_TALK = "small_talk"
KINDS = (INFORMATION, SERVICE, COMPLAINT, SAFETY, SMALL_TALK)
SERVICE_CATEGORIES = ("housekeeping", "maintenance", "transport", "wake_up", "reservation")
SAFETY_CATEGORIES = ("emergency", "medical", "security", "allergy")


@dataclass(frozen=True, slots=True)
class Label:
    """A message kind and, for service requests and safety messages, its category."""

    kind: str
    category: str | None = None


def fold(text: str) -> str:
    """Lower case, accents removed, apostrophes unified, spaces collapsed: what rules match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = plain.replace("\u2019", "'").replace("\u00df", "ss").replace("\u0153", "oe")
    return " ".join(plain.split())


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(parts))


_FILLERS = re.compile(
    r"^(?:(?:um+|uh+|er+|erm|hm+|so|yeah|yes|ok(?:ay)?|hi|hey|hello|oh)[\s,.!]+)+"
)

_EMERGENCY = _rx(
    r"\bemergenc(?!y (?:number|exit|contact|phone|line|procedure))", r"\burgence\b", r"\bnotfall",
    r"\bemergencia",
    r"(?<!in case of )\bfire\b(?! ?(?:exit|escape|door|drill|safety|place|pit|extinguisher|work))",
    r"\bon fire\b", r"\bfire alarm\b", r"\bincendi", r"\bau feu\b", r"\bfeuer\b", r"\bbrennt\b",
    r"(?:there'?s|there is|is|see|full of|lots of) smoke", r"\bsmoke (?:in|from|coming|everywhere)",
    r"\bfumee\b", r"\brauch\b", r"\bhumo\b",
    r"\bgas\b.{0,12}\b(?:smell|leak)",
    r"(?:smell|smells|smelling|leak\w*|odeur) (?:of |de )?ga[sz]\b",
    r"riecht (?:es )?nach gas", r"huele a gas", r"\bgas leak",
    r"\btrapped\b", r"carbon monoxide", r"\bco alarm",
    r"alarm is (?:going off|beeping|ringing|sounding)",
    r"\bflames?\b", r"\bexplosion", r"\bflood(?:ing|ed)?\b", r"ne respire", r"\bnotarzt",
    r"\bunresponsive\b", r"not responding", r"\bchoking\b", r"\boverdose",
    r"\bstuck in (?:the |a )?(?:lift|elevator)", r"\bdrown",
    r"\bambulanc", r"\bkrankenwagen",
    r"(?:call|dial|ring|rufen sie|appelez(?: le)?|llamen? al?)\s+(?:112|911|999)\b",
    r"^\s*(?:112|911|999)\s*!*$", r"nine one one",
    # "help!" as a cry, not as a noun after an article or adjective ("you've been a great help!")
    r"(?<!\ba )(?<!\bgreat )(?<!\bbig )(?<!\breal )(?<!\bthe )(?<!\byour )\bhelp\s*!",
    r"^\s*help\b", r"\bhelp help\b", r"\bsos\b", r"\bau secours\b",
    r"^\s*hilfe\b", r"^\s*ayuda\b", r"\bsparking\b", r"electric shock",
    r"(?:not|isn'?t|stopped|no longer) breathing", r"\bno respira",
    r"(?:child|son|daughter|kid|baby) is missing",
    r"can'?t find (?:my|our) (?:son|daughter|child|kid)",
)  # fmt: skip
_MEDICAL = _rx(
    r"\bdoctor\b", r"\bphysician\b", r"\bmedic(?:al|ine)\b", r"\bparamedic",
    r"chest pain", r"heart attack", r"\bstroke\b", r"\bseizure", r"\bbreath(?:e|ing)\b",
    r"\bunconscious", r"\bfaint", r"passed out", r"\bcollapse", r"\bbleed", r"\bblood\b",
    r"\bfever\b", r"high temperature", r"\bvomit", r"throwing up", r"\binjur", r"\bhurt\b",
    r"\bbroke (?:my|his|her)\b", r"\bbroken (?:arm|leg|ankle|wrist|bone)", r"\bfell\b(?! off)",
    r"first aid", r"can'?t move (?:his|her|my)", r"\bswallowed\b",
    r"\bcut (?:my|his|her)(?:self)?\b", r"\bmigraine", r"\bevanoui", r"\bdesmay", r"\batmet\b",
    r"\bno respira", r"\bchoking\b",
    r"\bslipped\b", r"\bsick\b", r"\bunwell\b", r"\bvery ill\b", r"\bis (?:very )?ill\b",
    r"\bdiabetic", r"\binsulin", r"\bstung\b", r"\bswell", r"\bpain\b(?! au)", r"\bhospital",
    r"\bhit (?:his|her|my) head", r"\bpregnan", r"\bcontractions?\b", r"\bin labou?r\b",
    r"\basthma", r"\binhaler", r"\bpoison", r"\bcan'?t stop being sick", r"\bschmerz",
    r"\bgesturzt",
    r"\bduele\b", r"\bcaid[oa]\b", r"\bme he caido", r"\bsaigne", r"\bblessure", r"\benceinte\b",
    r"\bschwanger", r"\bembarazada", r"\bdizzy\b", r"\bburn(?:ed|t) (?:my|his|her)",
    r"\bconfused\b", r"allergic reaction",
    r"\barzt\b", r"\bbrustschmerz", r"\bohnmacht", r"\bfieber\b", r"\bverletzt",
    r"\bmedecin\b", r"\bfievre\b", r"\bmalaise\b", r"\bblesse", r"\bmedico\b", r"\bfiebre\b",
    r"\bdolor\b", r"\bherid",
)  # fmt: skip
_SECURITY = _rx(
    r"\bstole\b", r"\bstolen\b", r"\btheft\b", r"\bthie[fv]", r"\brobbed\b", r"\bburglar",
    r"\bbroken? into\b", r"\bbroke into\b", r"\bbreak-?in\b", r"\bintruder",
    r"trying to (?:get|open|enter|break)", r"(?:has|have) been in (?:my|our) room",
    r"\bfollowing me\b", r"\bfollowed me\b", r"\bharass", r"\bthreaten", r"\bsuspicious",
    r"\bunsafe\b", r"\bassault", r"\battacked\b", r"won'?t leave",
    r"(?:laptop|wallet|phone|passport|bag|money|jewel\w*|purse|watch) "
    r"(?:is|are|was|were|has been|have been) (?:gone|missing|taken)",
    r"\btaken my\b", r"\bmissing from\b", r"\bgrabbed (?:my|our)", r"\bgrab (?:my|our)\b",
    r"\bdisappeared\b",
    r"banging on (?:my|our|the) door", r"\bdrunk\b", r"\bgeklaut", r"\brode\b", r"\binconnu",
    r"\bsnatched",
    r"\bmugged", r"\bpickpocket", r"\baufgebrochen", r"\bbelastigt", r"\bbedroht", r"\bverfolgt",
    r"\bsiguiendo\b", r"\bme sigue\b", r"\bacos", r"\bagred", r"\bamenaz", r"\bmenac",
    r"\bme suit\b", r"\bharcel", r"\bweird (?:man|guy|person)", r"\bsomeone (?:is )?watching",
    r"\bgestohlen", r"\bdieb", r"\beinbruch", r"in mein zimmer zu kommen",
    r"\bvole\b", r"\bvoleur", r"entrer dans (?:ma|notre) chambre",
    r"\brobad", r"\brobaron\b", r"\bladr[oó]n", r"entrado en (?:mi|nuestra) habitacion",
)  # fmt: skip
_ALLERGENS = r"(?:peanuts?|nuts?|sesame|shellfish|gluten|lactose|dairy|eggs?|soy|celery|mustard)"
_ALLERGY = _rx(
    _ALLERGENS + r".{0,40}\b(?:react|safe\b|cross[- ]contamination|guarantee)",
    r"(?:react\w*|can'?t (?:have|eat)|cannot (?:have|eat)|must not eat|avoid) .{0,20}" + _ALLERGENS,
    r"(?<!hypo)allerg(?!ens?\b)", r"\balergi", r"\balergic", r"\banaphyla", r"\bepi ?pen",
    r"\bc(?:o)?eliac", r"\bceliac", r"\bzoliakie", r"\bintoleran",
)  # fmt: skip

_SMALL_TALK_WORDS = frozenset(
    """thanks thank you very much so a lot cheers thx ty hi hello hey there good morning
    afternoon evening night day bye goodbye ok okay perfect great awesome cool nice that's
    that is appreciate it have wonderful helpful you are you're how today anyone all fine
    lovely brilliant excellent super star been you've kind amable muy danke schon vielen dank
    hallo guten morgen abend tag
    tschuss servus merci beaucoup bonjour bonsoir bonne nuit journee au revoir salut gracias
    muchas hola buenas buenos noches dias tardes adios gut bien tres""".split()
)
_WORD = re.compile(r"[a-z']+")

_INFO_FRAME = re.compile(
    r"^(?:what|what's|whats|when|where|where's|which|who|why|how|is|are|does|do|did|was|were|"
    r"wie|wann|wo|welche|gibt|ist|sind|quel|quelle|quels|ou|est-ce|combien|comment|a quelle|"
    r"que|cuando|donde|hay|se|cuanto|cual)\b"
)
_ASKS = _rx(
    r"\bplease\b", r"\bcan (?:you|we|i|u|someone|somebody)\b", r"\bcould (?:you|we|i|someone)\b",
    r"\bwould you\b", r"\bi'?d like\b", r"\bwe'?d like\b", r"\bi would like\b",
    r"\bwe would like\b", r"^(?:can|could|would)\b", r"\bkonnen wir\b", r"\bkonnten wir\b",
    r"\bi want\b", r"\bwe want\b", r"\bi need\b", r"\bwe need\b",
    r"\bneed (?:a|an|more|some)\b",
    r"^(?:send|bring|book|reserve|call|get|order|set|wake|arrange)\b",
    r"\bsend\b", r"\bbring\b", r"\bbitte\b", r"\bkonnen sie\b", r"\bkonnten sie\b",
    r"\bich mochte\b", r"\bich hatte gern", r"\bwir mochten\b", r"\bpouvez-vous\b",
    r"\bpourriez-vous\b", r"\bpouvez vous\b", r"\bje voudrais\b", r"\bnous voudrions\b",
    r"\bj'aurais besoin\b", r"\bs'il vous plait\b", r"\bpor favor\b", r"\bpueden?\b",
    r"\bpodrian\b", r"\bnecesito\b", r"\bquiero\b", r"\bquisiera\b", r"\bme pueden\b",
    r"\bpidame\b", r"\bappelez-moi\b", r"\breveillez-moi\b", r"\bdespierteme\b",
    r"\bran out of\b", r"\bany chance\b", r"\breplace\b", r"\bi'?d love\b",
    r"\bis it possible to (?:get|have|book)", r"\best-ce possible\b", r"\bbrauchten\b",
    r"\bbrauchen\b", r"\bwurden gerne\b", r"\bhatten gerne?\b", r"\bput (?:us|me) down\b",
    r"\bsign (?:us|me) up\b", r"\bquer(?:ia|emos)\b", r"\bnecesitamos\b", r"\bj'ai besoin\b",
    r"\bil (?:me|nous) faut\b", r"\bgive (?:me|us)\b", r"\bget (?:me|us)\b", r"\bsort out\b",
    r"\borgani[sz]e\b",
    r"\bnos pueden\b", r"\bpodemos\b", r"\bje souhaite\b", r"\bhold a\b", r"\bwe'?ve got no\b",
    r"\bwe could (?:really )?use\b", r"\bwould it be possible\b", r"\bdo you think someone\b",
    r"\bnecesitamos\b", r"\bwe'?d like to stay\b", r"\bcan we stay\b",
)  # fmt: skip
_COMPLAINT = _rx(
    r"\bunacceptable\b", r"\bnot acceptable\b", r"\bdisappoint", r"\brude\b", r"\bunhappy\b",
    r"\bnot happy\b", r"\bcomplain", r"\bbeschwer", r"\bplainte\b", r"\bqueja\b", r"\bdirty\b",
    r"\bfilthy\b", r"\bdisgust", r"\bterrible\b", r"\bawful\b", r"\bhorrible\b", r"\bridiculous\b",
    r"\bunbearable\b", r"\binsoportable\b", r"\binadmissible\b", r"\bkatastrophe\b",
    r"\bcatastrophe\b", r"\bpesimo\b", r"\bunzufrieden\b", r"\bmecontent", r"\bdescontent",
    r"\bovercharged\b", r"\bcharged twice\b", r"\bmanager\b", r"\btoo noisy\b", r"\bso loud\b",
    r"\bschmutzig\b", r"\bsale\b", r"\bsuci[ao]\b", r"\binsatisfait", r"\bpas satisfait",
    r"\bimpoli", r"\bcockroach", r"\bhairs? in\b", r"can'?t sleep", r"\bsmells? of\b",
    r"\bwaited (?:an|over|for)\b", r"been waiting", r"\bworst\b", r"\bstank\b",
    r"\bstinks?\b", r"\bignor(?:ing|ed)\b", r"\bnot ok(?:ay)?\b", r"\bdecu", r"\bentt?ausch",
    r"\bpoor service\b", r"\bvery slow\b", r"\bunfriendly\b", r"\bunfreundlich", r"\brefund\b",
    r"\bmal servicio\b", r"\bdecepcion", r"\bnot what (?:we|i) paid", r"\bpaid for\b", r"\bpoor\b",
    r"painfully slow", r"\bpromised\b",
    r"not what the (?:pictures|photos)", r"\bshouted\b", r"\bapology\b", r"\bfrechheit",
    r"\binsupportable\b", r"\bmolest[oa]\b", r"\bnothing has arrived\b",
)  # fmt: skip
_MAINTENANCE = _rx(
    r"(?:not|n't|no longer|isnt|doesnt|dont|wont|cant|stopped) (?:work|turn|switch|open|close|"
    r"flush|cool|heat|drain|come on|lock)",
    r"\bbroken\b", r"\bbroke\b", r"\bkaputt\b", r"\bcasse[e]?\b", r"\brot[oa]\b",
    r"\bleak", r"\bdripping\b", r"\bclogged\b", r"\bblocked\b", r"\bflicker", r"\bno hot water\b",
    r"\bno (?:water )?pressure\b", r"\bkein warmes wasser\b", r"\bpas d'eau chaude\b",
    r"\bno hay agua caliente\b", r"funktioniert nicht", r"geht nicht", r"ne marche pas",
    r"ne fonctionne pas", r"no funciona", r"\bis dead\b", r"\bstuck\b", r"\bwarm air\b",
    r"\bnot cooling\b", r"\bkeeps dropping\b", r"\bstone cold\b",
    r"\bcame off\b", r"\bfell off\b", r"nothing happens", r"\bpierde agua\b",
    r"\bgeht nicht (?:mehr )?an\b",
    r"\bout of order\b", r"\bmalfunction", r"\bdefekt", r"\bstreikt\b", r"\ben panne\b",
    r"\bno enciende\b", r"\bbeeping\b", r"\brattl", r"\bno signal\b", r"\bblue screen\b",
    r"\bthermostat\b",
    r"going on and off", r"water all over", r"\bbouche", r"no calienta", r"way too hot",
    r"\bno towels\b",
)  # fmt: skip
_WAKE_UP = _rx(
    r"\bwake(?:-| )?up call",
    r"\bwake me\b",
    r"\bwake us\b",
    r"\bmorning call\b",
    r"\bweckruf",
    r"\bwecken sie\b",
    r"\breveil",
    r"\bdesp(?:i?e)rt",
)
_TRANSPORT = _rx(
    r"\btaxi\b",
    r"\bcab\b",
    r"\bshuttle\b",
    r"\btransfer\b",
    r"\bpick ?up\b",
    r"\bnavette\b",
    r"\bcar to\b",
    r"\ba car\b",
    r"\bride to\b",
    r"\bllevar",
    r"\bget to the airport\b",
    r"\bdrive (?:us|me)\b",
    r"\blift to\b",
    r"\bchauffeur",
    r"\blimo",
)
_RESERVATION = _rx(
    r"\bbook",
    r"\breserv",
    r"\bbuchen\b",
    r"\breservieren\b",
    r"\breservar",
    r"late check[- ]?out",
    r"early check[- ]?in",
    r"spate[nr]? check-?out",
    r"depart tardif",
    r"extend our stay",
    r"another night",
    r"one more night",
    r"\btable for\b",
    r"\bput (?:us|me) down\b",
    r"\bsign (?:us|me) up\b",
    r"\bverlanger",
    r"\bprolonger",
    r"\bget (?:us|me) into\b",
    r"\bhold a table\b",
    r"\bstay until\b",
    r"\b(?:two|three|\d+) more nights?\b",
    r"\bsoin\b",
    r"\bla cena\b",
    r"\bbuch",
    r"\bmesa para\b",
    r"\btisch fur\b",
)
_HOUSEKEEPING = _rx(
    r"\btowel", r"\bpillow", r"\bblanket", r"\bsheets?\b", r"toilet (?:paper|roll)",
    r"\btoothbrush", r"\btoothpaste", r"\bshampoo", r"\bsoap\b", r"\b(?:bath)?robe",
    r"\bhangers?\b", r"\biron\b", r"hair ?dryer", r"\bcot\b", r"\bcrib\b", r"\brollaway",
    r"\bbottled water\b", r"\bcoffee\b", r"\bslippers\b", r"\bclean", r"make up the room",
    r"room (?:made|make) up", r"\bmade up\b", r"\bturndown\b", r"\bhousekeeping\b", r"\bempty it\b",
    r"\bkissen\b", r"\bhandtu", r"\bdecke\b", r"\breinigen\b", r"\bserviette", r"\bcouverture",
    r"\boreiller", r"\bmenage\b", r"\btea\b", r"\bmilk\b", r"\bmat\b", r"\bduvet",
    r"\bbademant", r"\bsavon\b", r"\bjabon\b", r"\bsabanas\b", r"\bspare\b", r"\bextra\b",
    r"\bamenit", r"\brestock", r"\bvacuum", r"\bhoover", r"\bpapel higienico",
    r"\bbaby ?(?:cot|bed)", r"\bice\b", r"\bglasses\b", r"\bcups?\b", r"\bplates?\b",
    r"\btoalla", r"\balmohada", r"\bmanta\b", r"\blimpiar\b",
)  # fmt: skip

# What each hand-over kind means for staff: how soon someone must act.
PRIORITIES = {
    "emergency": "urgent",
    "medical": "urgent",
    "security": "high",
    "allergy": "high",
    COMPLAINT: "high",
}


def priority_of(label: Label) -> str:
    """``urgent``, ``high`` or ``normal``."""
    return PRIORITIES.get(label.category or label.kind, "normal")


def safety_label(folded: str) -> Label | None:
    """The safety category of a message, if any (emergency, medical, security, allergy)."""
    for category, pattern in (
        ("emergency", _EMERGENCY),
        ("medical", _MEDICAL),
        ("security", _SECURITY),
        ("allergy", _ALLERGY),
    ):
        if pattern.search(folded):
            return Label(SAFETY, category)
    return None


def is_small_talk(folded: str) -> bool:
    words = _WORD.findall(folded)
    return 0 < len(words) <= 8 and all(w.strip("'") in _SMALL_TALK_WORDS for w in words)


_INVERTED = re.compile(
    r"\b(?:est-(?:il|elle)|y a-t-il|sont-(?:ils|elles))\b|^(?:hat|haben|kann man)\b"
)


# Asking leave ("can I bring my dog?", "may we use the gym?") rather than for something to
# be done or brought ("can I get…", "can I have…").
_PERMISSION = re.compile(r"^(?:can|may) (?:i|we)\b(?! (?:get|have|please)\b)")


def asks_as_question(text: str) -> bool:
    """Worded as a question about the hotel ("is there…", "can I bring…"), not as a request."""
    core = _FILLERS.sub("", fold(text))
    return bool(_INFO_FRAME.match(core) or _INVERTED.search(core) or _PERMISSION.match(core))


# A request worded as a yes/no question about what is possible ("is it possible to have…",
# "do you think someone could…"): a question in form, a request in intent.
_POLITE_REQUEST = _rx(
    r"\b(?:is it|would it be|will it be) possible to\b", r"\bcould (?:you|we|i|someone|somebody)\b",
    r"\bdo you think (?:you|someone|somebody|\w+) could\b", r"\best-ce possible\b",
    r"\best-ce qu'(?:on|il) (?:peut|pourrait)\b", r"\best-ce que vous (?:pouvez|pourriez)\b",
    r"\bserait-il possible\b", r"\bware es moglich\b", r"\bkonnten sie\b", r"\bseria posible\b",
    r"\bpodrian\b",
)  # fmt: skip


_WH = re.compile(
    r"^(?:what|what's|whats|when|where|where's|which|who|why|how|wie|wann|wo|welche|quel|"
    r"quelle|quels|ou|combien|comment|a quelle|cuando|donde|cuanto|cual)\b"
)


def asks_for_something(text: str) -> bool:
    """Worded as a polite request, even when it is a question in form; a wh-question ("where
    could we leave the car?") asks for information, whatever follows its first word."""
    core = _FILLERS.sub("", fold(text))
    return bool(_POLITE_REQUEST.search(core)) and not _WH.match(core)


def is_bare(text: str) -> bool:
    """One word and no request ("sauna", "parking?"): a topic to answer about, not an order."""
    words = fold(text).split()
    return len(words) <= 1 and not _ASKS.search(" ".join(words))


def rule_label(text: str) -> Label | None:
    """The label the rules give ``text``, or None when they leave it to the nearest examples."""
    folded = fold(text)
    found = safety_label(folded)
    if found is not None:
        return found
    if is_small_talk(folded):
        return Label(SMALL_TALK)
    if _COMPLAINT.search(folded):
        return Label(COMPLAINT)
    core = _FILLERS.sub("", folded)
    if _MAINTENANCE.search(core) and not _INFO_FRAME.match(core):
        return Label(SERVICE, "maintenance")
    if _INFO_FRAME.match(core) or not _ASKS.search(core):
        return None
    for category, pattern in (
        ("wake_up", _WAKE_UP),
        ("transport", _TRANSPORT),
        ("reservation", _RESERVATION),
        ("housekeeping", _HOUSEKEEPING),
    ):
        if pattern.search(core):
            return Label(SERVICE, category)
    return None


_ROOM = re.compile(
    r"\b(?:room|rm|zimmer|chambre|habitacion|suite|apartment)\s*(?:no\.?|nr\.?|number|numero)?"
    r"\s*#?\s*(\d{1,5}[a-z]?)\b|#\s*(\d{2,5})\b|\b(?:in|to|into|at)\s+(\d{3,4})\b"
    r"(?!\s*(?:am|pm|h\b|uhr|:|\.|people|persons|guests|minutes|mins|euro|eur|dollars))"
)


def room_of(text: str) -> str | None:
    """A room number written in the message ("room 412", "Zimmer 12", "to 702"), if any."""
    match = _ROOM.search(fold(text))
    if match is None:
        return None
    return next(g for g in match.groups() if g).upper()
