"""Personal names: the stored form and the search key.

Clients' names reach Yordam typed in Uzbek Latin, Uzbek Cyrillic, Russian,
Kazakh or Kyrgyz Cyrillic, in Russian-passport transliteration, or in some
mixture, with half a dozen different characters standing in for the Uzbek
apostrophe.  This module gives every name two forms:

``normalise_name(text)`` -- the *stored* form.  The name exactly as typed
    except that it is NFC-normalised, invisible format characters (zero-width
    space, BOM, soft hyphen, bidi controls) are removed, every run of white
    space (including tabs, newlines and no-break spaces) becomes one space, and
    the ends are stripped.  Apostrophe variants are kept as typed.  Control
    characters (NUL, ESC, DEL, ...) and unpaired surrogates raise ValueError.

``search_key(text)`` -- the *search* form: lowercase ASCII words separated by
    single spaces.  Spellings of one name in the different scripts and
    conventions give the same key, so "Oʻgʻiloy Toʻxtayeva", "O'g'iloy
    To`xtayeva", "Ўғилой Тўхтаева" and "OGILOY TOXTAEVA" all give
    ``"ogiloi tohtaeva"``.

``search_terms(text)`` -- the words of ``search_key(text)``, for matching each
    word of a query as a prefix of a word of the stored key.

The key is an index, never shown to people: it only has to be equal for
spellings of the same name and rarely equal for different names.  It is not
reversible and does not try to be "correct" Uzbek Latin.

How the key is made
===================

1. Apostrophes are deleted (not turned into spaces): U+0027 ', U+0060 `,
   U+00B4 ´, U+02BB ʻ, U+02BC ʼ, U+2018 ‘, U+2019 ’ and other look-alikes (see
   ``APOSTROPHES``).  So oʻ, o', o` and plain o are the same; gʻ and g too; and
   the tutuq belgisi disappears ("Maʼruf" = "Ma'ruf" = "Маъруф" = "maruf").
   Invisible format characters are deleted too; control characters separate
   words.

2. NFKC (full-width letters, ligatures), stray combining marks dropped.

3. Mixed-script words are repaired: in a word that is mostly Cyrillic, Latin
   look-alikes (a, c, e, o, p, x, y, ...) are read as the Cyrillic letters they
   imitate, and vice versa ("Пeтpов" with Latin e and p is "Петров").

4. Case-folded; then letters with no ASCII decomposition are spelled out:
   ş ș -> sh, ç -> ch, ñ ŋ -> ng (the 1993 Uzbek and the Kazakh/Turkish Latin
   letters), ı -> i, ə -> a, ø -> o, ł -> l, đ -> d, æ -> ae, œ -> oe.

5. Cyrillic is transliterated to Uzbek Latin (the 1995 rules), extended to
   Russian, Kazakh, Kyrgyz (and Tajik) letters:
   ў -> o, ғ -> g, қ -> q, ҳ/х/һ -> x (see 7), ж -> j, ч -> ch, ш -> sh,
   щ -> shch, ц -> ts, й -> y, ы -> y, ё -> yo, ю -> yu, я -> ya, э -> e,
   е -> "ye" at the start of a word and after a vowel, ъ or ь, else "e";
   ъ and ь vanish; ә -> a, ө -> o, ұ ү -> u, і -> i, ң -> ng.
   A Cyrillic letter with an accent not listed (ќ, ѐ) is read as its base
   letter.  The remaining diacritics are then stripped (ö ü ä ū ğ é ... lose them, so
   "Ömürbek" = "Өмүрбек" and "Äsel" = "Әсел").

6. Everything that is not a letter or digit separates words: hyphens of all
   kinds, dots, commas, slashes.  ("Abdulla-Xoʻja" -> "abdula hoja",
   "A.B." -> "a b".)

7. Within each word, spelling variants are folded:

   * h = x = kh.  Uzbek Latin writes х as x and ҳ as h, but Russian has only
     х (Ҳасан is Хасан in every Russian document, Khasan in the passport), and
     most Uzbek Cyrillic keyboards lack ҳ, so the two are typed
     interchangeably.  Distinct names that differ only in h/x are practically
     unknown, while "Xasan/Hasan/Khasan/Ҳасан/Хасан" and
     "Muhammad/Muxammad/Mukhammad" are everyday variants.  All become "h"
     (not "x", so that Latin "s'h" = Cyrillic "сҳ" = "sh").  To keep Cyrillic
     "кх"/"кҳ" (Bekxon) from being eaten by the Latin "kh" rule, Cyrillic
     х/ҳ/һ are transliterated to "x" first and only Latin-typed "kh" is
     folded.  Cost: "Bekhon" typed in Latin is read as "Be-xon", and English
     "x" = "ks" (Alexander, Maxim) is not recognised.
   * zh = j and dj = j: Uzbek ж is j, Russian passports write zh (Zhanna,
     Ulzhan), and Uzbek names are often spelled with дж in Russian
     (Джамшид = Жамшид = Jamshid = Dzhamshid).
   * gh = g (English-style Ghulom, Ghafur for Gʻulom, Gʻafur), q = k (Қодиров
     is Кодиров in Russian, Qayrat = Kairat), w = v, ng = n (Kazakh/Kyrgyz ң
     appears as н in Russian documents: Жаңыл = Жаныл).
   * i/y.  Passports and habits disagree on й, ы, ия, ий, ь before a vowel
     (Aigerim/Aygerim, Dmitriy/Dmitry/Dmitrii, Mariya/Maria, Tatyana/Tatiana,
     Yuliya/Yulia/Iuliia, Diyora/Diora, Rysbek/Risbek).  Rule: a "y" that does
     not begin a word becomes "i"; a word-initial "y" before a consonant
     becomes "i"; a word-initial "ia/io/iu" becomes "ya/yo/yu" (ICAO
     Iuliia); then doubled letters collapse.  So "Oybek" is "oibek" and
     "Oʻgʻiloy" is "ogiloi" -- and the prefix "Oy" still finds them.
     Word-initial y before a vowel (Yusuf, Yoqub, Yulduz) is kept.
   * e/ye.  Uzbek Latin and Russian transliteration write е as "ye" at the
     start of a word and after a vowel (Yelena, Toʻxtayev, Yerlan); many
     people and Kazakh passports write plain "e" (Elena, Toxtaev, Erlan),
     and э is always "e" (Eshmatov).  So "ye"/"ie" at the start of a word and
     after a, e, o, u become "e": "Yelena" = "Elena" = "Елена" = "elena",
     "Toʻxtayeva" = "Toxtaeva" = "Тўхтаева" = "tohtaeva".  After a consonant
     "ie" is kept (it is the "iy" of Aliyev/Алиев = "aliev", so that the
     prefix "Ali" still finds Aliyev), which means "Vasilyev" = "Vasiliev" =
     "Васильев" but not the ICAO "Vasilev".
   * Doubled letters collapse (Muhammad = Muhamad, Assel = Asel,
     Nuriddin = Nuridin, Ayyub = Ayub = Аюб).

Deliberately *not* folded, because the false positives would outweigh the
gain: o/a (Uzbek о is often а in Russian spellings, Shohruh/Шахрух,
Qodirov/Кадыров, but Olim/Alim, Gulnora/Gulnara, Lola/Lala would merge);
oʻ/u (Тўхтаев is Тухтаев in Russian, but oʻ typed without its apostrophe is
plain o); shch/sh (Shchukin and Shukin are different surnames); ё/е (Russian
often writes Алена for Алёна).  A looser "did you mean" key could add these.

Partial queries
===============

The key of a prefix of a name is, almost always, a prefix of the name's key,
so ``LIKE '%' || search_key(query) || '%'`` and per-word prefix matching with
``search_terms(query)`` work while the user is still typing.  The exceptions
are a query cut inside a folded digraph or an i/y/e fold: "Muk" (for
Mukhammad, key "muhamad"), "Z"/"D" (Zhanna, Dzhamshid), a lone "Y" (for
Yelena, key "elena"), "Toxtay" (for Toxtayev, key "tohtaev").
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["APOSTROPHES", "normalise_name", "search_key", "search_terms"]

#: Characters used in place of the Uzbek apostrophe (oʻ, gʻ, tutuq belgisi).
#: Deleted from search keys; kept in stored names.
APOSTROPHES = frozenset(
    "\u0027"  # ' apostrophe
    "\u0060"  # ` grave accent (backtick)
    "\u00b4"  # ´ acute accent
    "\u02b9"  # ʹ modifier prime (transliterated ь)
    "\u02ba"  # ʺ modifier double prime (transliterated ъ)
    "\u02bb"  # ʻ modifier turned comma (official oʻ, gʻ)
    "\u02bc"  # ʼ modifier apostrophe (official tutuq belgisi)
    "\u02bd"  # ʽ modifier reversed comma
    "\u02be"  # ʾ modifier right half ring
    "\u02bf"  # ʿ modifier left half ring
    "\u02c8"  # ˈ modifier vertical line
    "\u02ca"  # ˊ modifier acute
    "\u02cb"  # ˋ modifier grave
    "\u2018"  # ‘ left single quotation mark
    "\u2019"  # ’ right single quotation mark
    "\u201b"  # ‛ single high-reversed-9 quotation mark
    "\u2032"  # ′ prime
    "\u2035"  # ‵ reversed prime
    "\uff07"  # ＇ full-width apostrophe
)

# Unicode White_Space (Python's str.isspace() also counts the control
# characters U+001C..U+001F, which are refused instead).
_WHITE_SPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)

_VOWELS = "aeiou"

# Cyrillic letters of Uzbek, Russian, Kazakh, Kyrgyz (and Tajik, Ukrainian
# extras) after casefold.  х/ҳ/һ give "x" here; the word folds make it "h".
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ё": "yo", "ж": "j",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n",
    "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f",
    "х": "x", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y",
    "ь": "", "э": "e", "ю": "yu", "я": "ya",
    # Uzbek (and Karakalpak)
    "ў": "o", "қ": "q", "ғ": "g", "ҳ": "x",
    # Kazakh, Kyrgyz
    "ә": "a", "ң": "ng", "ө": "o", "ұ": "u", "ү": "u", "һ": "x", "і": "i",
    # Tajik, Ukrainian
    "ӣ": "i", "ӯ": "u", "ҷ": "j", "є": "ye", "ї": "yi", "ґ": "g", "ј": "j",
}
_CYRILLIC_VOWELS = frozenset("аеёиоуыэюяўәөұүіӣӯєї")
_CYRILLIC_E = "е"

# Latin letters that NFD cannot reduce to ASCII, or reduces wrongly.
_LATIN_SPECIAL = {
    "ş": "sh", "ș": "sh", "ç": "ch", "ñ": "ng", "ŋ": "ng", "ı": "i",
    "ə": "a", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "æ": "ae", "œ": "oe",
    "þ": "th",
}

# Look-alike letters for repairing mixed-script words (before casefold).
_LATIN_TO_CYRILLIC = {
    "A": "А", "a": "а", "B": "В", "C": "С", "c": "с", "E": "Е", "e": "е",
    "H": "Н", "K": "К", "k": "к", "M": "М", "O": "О", "o": "о", "P": "Р",
    "p": "р", "T": "Т", "X": "Х", "x": "х", "Y": "У", "y": "у", "ë": "ё",
    "Ë": "Ё",
}
_CYRILLIC_TO_LATIN = {cyr: lat for lat, cyr in _LATIN_TO_CYRILLIC.items()}
_CYRILLIC_TO_LATIN.update(
    {"і": "i", "І": "I", "ј": "j", "Ј": "J", "ѕ": "s", "Ѕ": "S", "һ": "h",
     "Һ": "H", "ԛ": "q", "Ԛ": "Q", "ԝ": "w", "Ԝ": "W"}
)

# Ordered: zh before dj (dzh -> dj -> j); kh -> x before x -> h, so that an
# "h" made from Cyrillic х is never read as part of a Latin "kh".
_DIGRAPH_FOLDS = (
    ("zh", "j"),
    ("dj", "j"),
    ("kh", "x"),
    ("gh", "g"),
    ("x", "h"),
    ("q", "k"),
    ("w", "v"),
    ("ng", "n"),
)

_LETTER_RUN = re.compile(r"[^\W\d_]+")
_WORD = re.compile(r"[^\W_]+")
_DOUBLED = re.compile(r"(.)\1+")
_VOWEL_IE = re.compile(r"([aeou])ie")


def normalise_name(text: str) -> str:
    """Return the stored form of a personal name.

    NFC, invisible format characters removed, white space collapsed to
    single spaces, ends stripped; otherwise exactly as typed (apostrophe
    variants, case and script are kept).  Raises ValueError for control
    characters (NUL, ESC, DEL, C1 controls ...) and unpaired surrogates;
    tabs, newlines and other white space are collapsed, not refused.
    """
    if not isinstance(text, str):
        raise TypeError(f"name must be str, not {type(text).__name__}")
    out = []
    for position, ch in enumerate(text):
        if ch in _WHITE_SPACE:
            out.append(" ")
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            raise ValueError(
                f"name contains control character U+{ord(ch):04X} at position {position}"
            )
        if category == "Cs":
            raise ValueError(
                f"name contains unpaired surrogate U+{ord(ch):04X} at position {position}"
            )
        if category == "Cf":
            continue
        out.append(ch)
    joined = unicodedata.normalize("NFC", "".join(out))
    return " ".join(part for part in joined.split(" ") if part)


def search_key(text: str) -> str:
    """Return the search key of a name or query (see the module docstring).

    Lowercase ASCII letters and digits, words separated by single spaces.
    Never raises for a str: characters that cannot be part of a name simply
    separate words.
    """
    if not isinstance(text, str):
        raise TypeError(f"name must be str, not {type(text).__name__}")
    text = _drop_apostrophes_and_controls(text)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        ch for ch in text
        if ch not in APOSTROPHES and not unicodedata.category(ch).startswith("M")
    )
    text = _LETTER_RUN.sub(_repair_mixed_script, text)
    text = _transliterate(text.casefold())
    text = "".join(
        ch for ch in unicodedata.normalize("NFD", text)
        if not unicodedata.category(ch).startswith("M")
    )
    words = (_fold_word(word) for word in _WORD.findall(text))
    return " ".join(word for word in words if word)


def search_terms(text: str) -> list[str]:
    """Return the words of ``search_key(text)``, in order."""
    return search_key(text).split()


def _drop_apostrophes_and_controls(text: str) -> str:
    out = []
    for ch in text:
        if ch in APOSTROPHES:
            continue
        category = unicodedata.category(ch)
        if category == "Cf":
            continue
        out.append(" " if category in ("Cc", "Cs") else ch)
    return "".join(out)


def _repair_mixed_script(match: re.Match[str]) -> str:
    word = match.group(0)
    cyrillic = sum(1 for ch in word if "\u0400" <= ch <= "\u052f")
    latin = sum(1 for ch in word if ch.isascii() or "\u00c0" <= ch <= "\u024f")
    if cyrillic and latin:
        if cyrillic > latin:
            return "".join(_LATIN_TO_CYRILLIC.get(ch, ch) for ch in word)
        if latin > cyrillic:
            return "".join(_CYRILLIC_TO_LATIN.get(ch, ch) for ch in word)
    return word


def _transliterate(text: str) -> str:
    out = []
    previous = ""
    for ch in text:
        if ch not in _CYRILLIC and ch not in _LATIN_SPECIAL and ch != _CYRILLIC_E:
            # A Cyrillic letter with an accent the tables do not list (ѐ, ќ,
            # ӓ ...): transliterate its base letter; the accent is dropped.
            base = unicodedata.normalize("NFD", ch)[0]
            if base in _CYRILLIC or base == _CYRILLIC_E:
                ch = base
        if ch == _CYRILLIC_E:
            iotated = (
                not previous.isalpha()
                or previous in _CYRILLIC_VOWELS
                or previous in "ъь"
                or previous in _VOWELS
            )
            out.append("ye" if iotated else "e")
        elif ch in _CYRILLIC:
            out.append(_CYRILLIC[ch])
        elif ch in _LATIN_SPECIAL:
            out.append(_LATIN_SPECIAL[ch])
        else:
            out.append(ch)
        previous = ch
    return "".join(out)


def _dedup(word: str) -> str:
    return _DOUBLED.sub(r"\1", word)


def _fold_word(word: str) -> str:
    for old, new in _DIGRAPH_FOLDS:
        word = word.replace(old, new)
    while True:
        before = word
        word = _dedup(word)
        if len(word) > 1:
            if word[0] == "i" and word[1] in "aou":
                word = "y" + word[1:]
            if word[:2] in ("ye", "ie"):
                word = word[1:]
            word = word[0] + word[1:].replace("y", "i")
            if word[0] == "y" and len(word) > 1 and word[1] not in _VOWELS:
                word = "i" + word[1:]
        word = _dedup(_VOWEL_IE.sub(r"\1e", word))
        if word == before:
            return word
