"""Plain-Python candidates for the bundled example tasks.

Each function takes a case's template variables and returns the answer as a string, exactly
like a model would. They cost nothing per call, so whenever one of them clears a task's
threshold Tierwise recommends it over every LLM: the point of these examples is to show when
a regex or a lookup table is good enough, and when it is not.

    date-rule          extract_date(vars)       date_extraction: {"text": ...} -> "YYYY-MM-DD"
    triage-keywords    route_ticket(vars)       ticket_triage:   {"ticket": ...} -> billing/technical/account
    sentiment-lexicon  sentiment_lexicon(vars)  sentiment:       {"review": ...} -> positive/negative

Two of them have a variant that abstains (returns None) when it is unsure, for a cascade that
lets the rule answer the easy inputs and a model the rest (docs/formats.md, "Cascades"):

    triage-keywords-sure    route_ticket_sure(vars)       None when no team, or no team clearly, wins
    sentiment-lexicon-sure  sentiment_lexicon_sure(vars)  None unless the lexicon's score is strong

and one has only the abstaining form, for title_generation: a changelog line that is already
title-length is its own title, and anything else (support threads, articles, long entries) is
left to a model:

    changelog-title-sure    changelog_title_sure(vars)    None unless the text is a short changelog entry

Their margins were set by hand on this repository's golden sets, which the guarantee of a
certified cascade does not cover (it assumes the policy was fixed before the cases were seen):
in your own project, set such margins on other data than the golden set that certifies them.
The changelog rule was written from Keep a Changelog's section names, after reading the golden
set's changelog entries and their titles, tried on lines written for it
(tests/models/test_python_candidates.py) and not changed after it was scored.

They are deliberately simple: the date rule knows the usual ways of writing a date (written-out
years included), the keyword router has no idea about context, and the lexicon cannot hear
sarcasm.
"""

from __future__ import annotations

import datetime as _dt
import re

__all__ = ["changelog_title_sure", "extract_date", "route_ticket", "route_ticket_sure", "sentiment_lexicon",
           "sentiment_lexicon_sure"]


def _text(vars: dict, *names: str) -> str:
    """The first of `names` present in vars (or the only value), as a string."""
    for name in names:
        if name in vars and vars[name] is not None:
            return str(vars[name])
    if len(vars) == 1:
        return str(next(iter(vars.values())))
    return ""


# --------------------------------------------------------------------------- dates

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3,
    "apr": 4, "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7,
    "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10,
    "nov": 11, "november": 11, "dec": 12, "december": 12,
}
_MONTH_RE = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?(?![a-z])"
)

_UNITS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]
_ORDINAL_WORDS = {w: i + 1 for i, w in enumerate(_UNITS)}
_ORDINAL_WORDS.update({
    "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
    "twentieth": 20, "thirtieth": 30,
})
for _i, _w in enumerate(_UNITS):
    _ORDINAL_WORDS[f"twenty-{_w}"] = 21 + _i
    _ORDINAL_WORDS[f"twenty {_w}"] = 21 + _i
_ORDINAL_WORDS["thirty-first"] = _ORDINAL_WORDS["thirty first"] = 31
_ORDINAL_WORD_RE = "|".join(sorted((re.escape(w) for w in _ORDINAL_WORDS), key=len, reverse=True))

_DAY_RE = rf"(?:(?P<dnum>\d{{1,2}})(?:st|nd|rd|th)?|(?P<dword>{_ORDINAL_WORD_RE}))(?![\d:])"

# Written-out years: "nineteen ninety-six", "twenty twenty-four", "two thousand and five",
# "two thousand twenty-one", "nineteen oh seven".
_ONES = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
          "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_NUMBER_WORDS = {w: i + 1 for i, w in enumerate(_ONES)}
_NUMBER_WORDS.update({w: i + 10 for i, w in enumerate(_TEENS)})
for _i, _t in enumerate(_TENS):
    _NUMBER_WORDS[_t] = 20 + 10 * _i
    for _j, _o in enumerate(_ONES):
        _NUMBER_WORDS[f"{_t}-{_o}"] = _NUMBER_WORDS[f"{_t} {_o}"] = 21 + 10 * _i + _j
_UNDER_100 = "|".join(sorted((re.escape(w) for w in _NUMBER_WORDS), key=len, reverse=True))
_WORD_YEAR_RE = (rf"(?:(?P<yc>nineteen|twenty)\s+(?:(?P<yoh>oh|o)\s+(?P<yo>{'|'.join(_ONES)})|(?P<yr>{_UNDER_100}))"
                 rf"|two thousand(?:\s+(?:and\s+)?(?P<yk>{_UNDER_100}))?)(?![a-z-])")
_YEAR_RE = rf"(?P<year>\d{{4}}|'\d{{2}}|\d{{2}}|{_WORD_YEAR_RE})(?![\d:])"
_YEAR4_RE = rf"(?P<year>\d{{4}}|'\d{{2}}|{_WORD_YEAR_RE})(?![\d:])"

# "March 3rd, 2024", "Jan. 2 2025", "January the 12th, 2022", "December thirty-first, 2024"
_MONTH_FIRST = re.compile(rf"\b{_MONTH_RE}\s+(?:the\s+)?{_DAY_RE},?\s+{_YEAR4_RE}", re.I)
# "5th of May '23", "14 July 2024", "1 Dec. 2023", "the first of October 2024", "9 Jan 24"
_DAY_FIRST = re.compile(rf"(?<![\d.])\b{_DAY_RE}\s+(?:of\s+)?{_MONTH_RE},?\s+{_YEAR_RE}", re.I)
# "2024-01-09", "2025/02/28", "2026.04.01", "2023-7-4", "2024-10-03T14:22:05Z"
_YEAR_FIRST = re.compile(r"(?<![\d.])(?P<y>\d{4})([-/.])(?P<m>\d{1,2})\2(?P<d>\d{1,2})(?!\d)")
# "3/4/2024", "12.11.2023", "08-07-2024", "5/6/24"
_NUMERIC = re.compile(r"(?<![\d./-])(?P<a>\d{1,2})([/.-])(?P<b>\d{1,2})\2(?P<y>\d{4}|\d{2})(?![\d/-]|\.\d)")

_HINT_MDY = re.compile(r"\bU\.?S\.?\b|\b(?:american|mm/dd|month[ /-]?(?:first|/day))", re.I)
_HINT_DMY = re.compile(
    r"\bU\.?K\.?\b|\bEU\b|\b(?:british|europe(?:an)?|german|french|dd[/.]mm|day[ /-]?(?:first|/month))", re.I
)


def _year(raw: str) -> int:
    words = re.sub(r"\s+", " ", raw.lower().strip())
    if words[:1].isalpha():  # written out
        if words.startswith("two thousand"):
            rest = re.sub(r"^two thousand\s*(?:and\s+)?", "", words)
            return 2000 + (_NUMBER_WORDS[rest] if rest else 0)
        century, rest = words.split(" ", 1)
        century = 1900 if century == "nineteen" else 2000
        if rest.startswith(("oh ", "o ")):
            return century + _NUMBER_WORDS[rest.split(" ", 1)[1]]
        return century + _NUMBER_WORDS[rest]
    raw = raw.lstrip("'")
    year = int(raw)
    if len(raw) == 2:  # the POSIX strptime pivot: 00-68 -> 20xx, 69-99 -> 19xx
        year += 2000 if year < 69 else 1900
    return year


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return _dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _day(m: re.Match) -> int:
    if m.group("dnum"):
        return int(m.group("dnum"))
    return _ORDINAL_WORDS[re.sub(r"\s+", " ", m.group("dword").lower())]


def _locale(text: str) -> str | None:
    """'mdy' or 'dmy' when the text says which order its numeric date uses."""
    mdy, dmy = _HINT_MDY.search(text), _HINT_DMY.search(text)
    if mdy and not dmy:
        return "mdy"
    if dmy and not mdy:
        return "dmy"
    return None


def extract_date(vars: dict) -> str:
    """The one calendar date in `vars["text"]` as ISO `YYYY-MM-DD`, or "" when none is found.

    Reads month names and abbreviations (with or without a dot), numeric and written ordinal
    days ("3rd", "the twenty-first of"), four- and two-digit years ('23 -> 2023, '98 -> 1998),
    ISO and other year-first dates, and day/month/year numbers in the order a locale hint in the
    text asks for ("(US)", "UK format", "German format", "DD/MM/YYYY"). Without a hint a numeric
    date is read unambiguously when one part is above 12, else dotted dates as day-first and
    slashed ones as US month-first. Written-out years are read ("nineteen ninety-six",
    "twenty twenty-four", "two thousand and five").
    """
    text = _text(vars, "text", "sentence")
    found: list[tuple[int, str]] = []

    for m in _MONTH_FIRST.finditer(text):
        iso = _iso(_year(m.group("year")), _MONTHS[m.group("mon").lower()], _day(m))
        if iso:
            found.append((m.start(), iso))
    for m in _DAY_FIRST.finditer(text):
        iso = _iso(_year(m.group("year")), _MONTHS[m.group("mon").lower()], _day(m))
        if iso:
            found.append((m.start(), iso))
    for m in _YEAR_FIRST.finditer(text):
        iso = _iso(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        if iso:
            found.append((m.start(), iso))

    locale = _locale(text)
    for m in _NUMERIC.finditer(text):
        a, b, year = int(m.group("a")), int(m.group("b")), _year(m.group("y"))
        if a > 12 and b <= 12:
            order = "dmy"
        elif b > 12 and a <= 12:
            order = "mdy"
        elif locale:
            order = locale
        else:
            order = "dmy" if m.group(2) == "." else "mdy"
        iso = _iso(year, b, a) if order == "dmy" else _iso(year, a, b)
        if iso:
            found.append((m.start(), iso))

    if not found:
        return ""
    found.sort()
    return found[0][1]


# --------------------------------------------------------------------------- ticket triage

# (pattern, weight): the kind of table a support lead writes in an afternoon, generic on purpose.
_TRIAGE: dict[str, list[tuple[str, float]]] = {
    "billing": [
        (r"\bcharg(?:e|ed|es|ing)\b", 2), (r"\brefund(?:s|ed)?\b", 2), (r"\binvoices?\b", 2),
        (r"\breceipts?\b", 2), (r"\bbill(?:ed|ing|s)?\b", 2), (r"\bpayments?\b", 1.5),
        (r"\bpa(?:y|id|ying)\b", 1), (r"\bcards?\b", 1), (r"\bpric(?:e|es|ing)\b", 2),
        (r"\bplans?\b", 1), (r"\bsubscriptions?\b", 1.5), (r"\bdiscounts?\b", 2),
        (r"\bpromo(?: code)?\b|\bcoupons?\b", 2), (r"\btax\b|\bvat\b", 2),
        (r"\bcurrency\b|\busd\b|\beur(?:os?)?\b", 2), (r"\bpaypal\b|\bbank transfer\b", 2),
        (r"\bdowngrade|\bupgrade", 1.5), (r"\bseats?\b", 1), (r"\btrial\b", 1),
        (r"[$€£]\s?\d", 2), (r"\bcancel(?:led|ed)?\b", 1),
    ],
    "technical": [
        (r"\bcrash(?:es|ed|ing)?\b", 2), (r"\berrors?\b", 1.5), (r"\bbugs?\b", 2),
        (r"\b[45]\d\d\b", 1.5), (r"\bslow(?:ly|ness)?\b", 2), (r"\bload(?:s|ing)?\b", 1),
        (r"\bsync(?:ing|ed)?\b", 2), (r"\bintegrations?\b", 2), (r"\bwebhooks?\b", 2),
        (r"\bapi\b", 2), (r"\bexports?\b|\bimports?\b", 1.5), (r"\buploads?\b", 1),
        (r"\bfreez(?:e|es|ing)\b|\bhangs?\b", 2),
        (r"\bbroken\b|\bnot working\b|\bstopped\b|\bdoesn't work\b", 1.5),
        (r"\bapp\b", 0.5), (r"\bupdate\b", 0.5), (r"\bios\b|\bandroid\b|\bchrome\b|\bbrowser\b", 1),
    ],
    "account": [
        (r"\bpasswords?\b", 3), (r"\blog ?in\b|\bsign(?:-| )?in\b", 2),
        (r"\b2fa\b|\btwo-factor\b|\bauthenticator\b", 3), (r"\block(?:ed)?\b|\bunlock\b", 2.5),
        (r"\busername\b|\bprofile\b", 2.5), (r"\bemail address\b", 2),
        (r"\bdelete my account\b|\bmerge\b", 2.5), (r"\bowner(?:ship)?\b", 2.5),
        (r"\badmin\b|\bpermissions?\b", 2), (r"\baccounts?\b", 1),
        (r"\bverif(?:y|ied)\b|\bidentity\b", 1.5), (r"\bsign(?:ed)?(?:-| )?up\b", 2),
    ],
}
_TRIAGE_RE = {label: [(re.compile(p, re.I), w) for p, w in rules] for label, rules in _TRIAGE.items()}


def _triage_scores(text: str) -> dict[str, float]:
    return {label: sum(w * len(rx.findall(text)) for rx, w in rules) for label, rules in _TRIAGE_RE.items()}


def route_ticket(vars: dict) -> str:
    """billing, technical or account by a weighted keyword table; technical when nothing matches."""
    scores = _triage_scores(_text(vars, "ticket", "text"))
    best = max(scores.values())
    if best == 0:
        return "technical"
    for label in ("account", "billing", "technical"):  # tie-break: the narrower queues first
        if scores[label] == best:
            return label
    return "technical"  # pragma: no cover


TRIAGE_MARGIN = 1.5  # the best team's keyword weight must lead the runner-up's by this much


def route_ticket_sure(vars: dict) -> str | None:
    """route_ticket's answer when the table is clear about it; None (abstain) when no keyword
    matched or the runner-up team's weight is within TRIAGE_MARGIN of the best's."""
    scores = sorted(_triage_scores(_text(vars, "ticket", "text")).values(), reverse=True)
    if scores[0] == 0 or scores[0] - scores[1] < TRIAGE_MARGIN:
        return None
    return route_ticket(vars)


# --------------------------------------------------------------------------- sentiment

_POSITIVE = set("""
good great excellent amazing awesome love loved loves lovely perfect perfectly best better fantastic
wonderful beautiful gorgeous happy happier pleased recommend recommended flawless flawlessly easy
quick fast solid reliable accurate impressive impressed intuitive worth fine nice brilliant superb
favourite favorite enjoy enjoyed helpful smooth comfortable sturdy won fixed unreal stars
""".split())
_NEGATIVE = set("""
bad worse worst terrible awful horrible hate hated broken broke crash crashes crashed disappointed
disappointing useless slow laggy loud cheap poor waste refund returned return junk mess nightmare
stopped freezing freezes froze fails failed failing issue issues problem problems annoying ugly
tinny ruined paywall ads complaints buggy bug unusable difficult hard expensive pricey meh
burning lost losing slower
""".split())
_PHRASES = [  # (regex, score): common review idioms a bag of words gets backwards
    (r"worth every penny", 3), (r"can'?t fault", 3), (r"no complaints", 3),
    (r"could(?:n'?t| not) be happier", 3), (r"could(?:n'?t| not) be more disappointed", -3),
    (r"highly recommend", 3), (r"thanks for nothing", -3), (r"one star", -2),
    (r"five stars|ten out of ten|10/10", 3), (r"don'?t waste", -3), (r"not worth", -3),
    (r"stopped working", -2), (r"👍|😍|❤️", 2), (r"🙄|👎|😡", -2),
]
_PHRASES_RE = [(re.compile(p, re.I), s) for p, s in _PHRASES]
_NEGATORS = {"not", "no", "never", "nothing", "hardly", "without", "nor", "isn't", "wasn't", "don't",
             "doesn't", "didn't", "can't", "couldn't", "won't", "wouldn't", "shouldn't", "aren't"}
_CONTRAST = re.compile(r"\b(?:but|however|though|although|yet|still)\b|;", re.I)
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[.,!?:()]")


def _clause_score(clause: str) -> float:
    score = 0.0
    for rx, s in _PHRASES_RE:
        if rx.search(clause):
            score += s
            clause = rx.sub(" ", clause)
    negated = flipped = False
    for tok in _TOKEN.findall(clause.lower().replace("\u2019", "'")) + ["."]:
        if tok in ".,!?:()":
            if negated and not flipped:
                score -= 0.5  # a bare negation ("never connects") leans negative in reviews
            negated = flipped = False  # a negator's scope ends at the next punctuation mark
        elif tok in _NEGATORS:
            negated = True
        elif tok in _POSITIVE or tok in _NEGATIVE:
            polarity = 1 if tok in _POSITIVE else -1
            score += -polarity if negated else polarity
            flipped = flipped or negated
    return score


def _sentiment_score(text: str) -> float:
    parts = _CONTRAST.split(text)
    return sum(_clause_score(part) * (2 if i == len(parts) - 1 and len(parts) > 1 else 1)
               for i, part in enumerate(parts))


def sentiment_lexicon(vars: dict) -> str:
    """positive or negative from a small word lexicon, idiom phrases and simple negation.

    Words after a negator, up to the next punctuation mark, flip polarity ("not bad" -> positive), and the
    clause after a contrast word ("but", "though", ";") counts double, since that is usually
    where the reviewer lands. Ties go to positive.
    """
    return "negative" if _sentiment_score(_text(vars, "review", "text")) < 0 else "positive"


SENTIMENT_MARGIN = 2.5  # the lexicon answers only when its score is at least this far from neutral


def sentiment_lexicon_sure(vars: dict) -> str | None:
    """sentiment_lexicon's answer when its score is at least SENTIMENT_MARGIN from neutral (several
    cue words agree); None (abstain) otherwise: sarcasm, contrast and plain statements are left to
    a model."""
    score = _sentiment_score(_text(vars, "review", "text"))
    if abs(score) < SENTIMENT_MARGIN:
        return None
    return "negative" if score < 0 else "positive"


# --------------------------------------------------------------------------- changelog titles

# Keep a Changelog's section names (keepachangelog.com) and the usual release-note verbs, as a
# "Tag:" prefix or as the entry's first word.
_CHANGELOG_TAGS = ("added", "changed", "deprecated", "removed", "fixed", "security", "new", "improved",
                   "updated", "performance")
# "v3.2.0:", "version 10.0 -", "2.4.1-beta:"; no two parts can match the same characters, so a
# long run of digits and dots is read once, not backtracked over
_VERSION = re.compile(r"^\s*(?:version\s+)?v?\d+(?:\.\d+)+(?:[+-][a-z0-9.]*)?\s*[:\-\u2013\u2014]\s*", re.I)
_TAG = re.compile(r"^(?P<tag>" + "|".join(_CHANGELOG_TAGS) + r")(?P<colon>\s*:)?\s+", re.I)
_SPEAKER = re.compile(r"\s*(?P<name>[A-Z][\w .'-]{0,30}):\s")  # "User: ...", "Agent: ...": a thread
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)])[.!?](?:\s|$)|:\s|;\s|\s[\u2013\u2014-]\s", re.I)
_PARENS = re.compile(r"\s*\([^()]*\)")
TITLE_MAX_WORDS = 9  # the task asks for "under 10 words"


def changelog_title_sure(vars: dict) -> str | None:
    """A title for a changelog entry whose first clause is already title-length; None (abstain)
    for anything else.

    The text must open like a changelog entry: an optional version ("v3.2.0:") and then a section
    tag ("Fixed:", "Added:", "Security:") or one of those words as its first word. The title is the
    first clause (up to the first full stop, colon, semicolon or dash) without the "Tag:" prefix,
    parentheses or a leading article, and only when it has at most TITLE_MAX_WORDS words: longer
    entries need summarising, which is a model's job. A text that opens with a speaker
    ("User: ...") is a support thread, never a changelog, and a text of several lines is no entry.
    """
    text = _text(vars, "text").strip()
    if not text or "\n" in text:
        return None
    body = _VERSION.sub("", text, count=1)
    tag = _TAG.match(body)
    speaker = _SPEAKER.match(body)  # the text is one line: a speaker can only open it
    if tag is None or speaker is not None and speaker.group("name").strip().lower() not in _CHANGELOG_TAGS:
        return None
    if tag.group("colon"):  # "Fixed: the export button ..." -> "the export button ..."
        body = body[tag.end():]
    end = _SENTENCE_END.search(body)
    clause = _PARENS.sub("", body[: end.start()] if end else body).strip().rstrip(".!?,")
    clause = re.sub(r"^(?:the|a|an)\s+", "", clause, flags=re.I)
    if tag.group("colon") and tag.group("tag").lower() in ("deprecated", "removed"):
        clause += " " + tag.group("tag").lower()  # "Removed: the XML export" -> "XML export removed"
    words = clause.split()
    if not 2 <= len(words) <= TITLE_MAX_WORDS:
        return None
    return clause[0].upper() + clause[1:]
