"""The prompt every backend gives Whisper: the user's ``transcriptionPrompt``, else one that names the language.

Whisper treats the prompt as text that came before the audio, so a sentence naming the
language nudges it to stay in that language (it otherwise drifts into English or into a
translation on short or accented clips). Shared by the local and HTTP backends so they
all prompt alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from voice_transcriber import Settings

# The languages Whisper knows, ISO-639-1 code → English name.
_LANGUAGES = (
    "af Afrikaans,am Amharic,ar Arabic,as Assamese,az Azerbaijani,ba Bashkir,be Belarusian,bg Bulgarian,"
    "bn Bengali,bo Tibetan,br Breton,bs Bosnian,ca Catalan,cs Czech,cy Welsh,da Danish,de German,el Greek,"
    "en English,es Spanish,et Estonian,eu Basque,fa Persian,fi Finnish,fo Faroese,fr French,gl Galician,"
    "gu Gujarati,ha Hausa,haw Hawaiian,he Hebrew,hi Hindi,hr Croatian,ht Haitian Creole,hu Hungarian,"
    "hy Armenian,id Indonesian,is Icelandic,it Italian,ja Japanese,jw Javanese,ka Georgian,kk Kazakh,"
    "km Khmer,kn Kannada,ko Korean,la Latin,lb Luxembourgish,ln Lingala,lo Lao,lt Lithuanian,lv Latvian,"
    "mg Malagasy,mi Maori,mk Macedonian,ml Malayalam,mn Mongolian,mr Marathi,ms Malay,mt Maltese,"
    "my Burmese,ne Nepali,nl Dutch,nn Norwegian Nynorsk,no Norwegian,oc Occitan,pa Punjabi,pl Polish,"
    "ps Pashto,pt Portuguese,ro Romanian,ru Russian,sa Sanskrit,sd Sindhi,si Sinhala,sk Slovak,"
    "sl Slovenian,sn Shona,so Somali,sq Albanian,sr Serbian,su Sundanese,sv Swedish,sw Swahili,ta Tamil,"
    "te Telugu,tg Tajik,th Thai,tk Turkmen,tl Tagalog,tr Turkish,tt Tatar,uk Ukrainian,ur Urdu,uz Uzbek,"
    "vi Vietnamese,yi Yiddish,yo Yoruba,yue Cantonese,zh Chinese"
)
LANGUAGE_NAMES: dict[str, str] = dict(item.split(" ", 1) for item in _LANGUAGES.split(","))


def language_name(code: str) -> str:
    """``"fr"`` → ``"French"``; an unknown code is returned as it is."""
    return LANGUAGE_NAMES.get(code.lower(), code)


def language_prompt(code: str) -> str:
    """The built-in prompt that keeps Whisper in language ``code``."""
    name = language_name(code)
    article = "an" if name[:1] in "AEIOU" else "a"
    return f"This is {article} {name} audio recording. Transcribe it in {name}."


def transcription_prompt(settings: Settings) -> str | None:
    """The prompt to send: ``transcriptionPrompt`` when set, else the language prompt, else None.

    The user's ``vocabulary`` words follow as a glossary: Whisper copies spellings it has just
    "heard" in the prompt, which is the documented way to get names and jargon right.
    """
    if settings.transcription_prompt and settings.transcription_prompt.strip():
        prompt: str | None = settings.transcription_prompt
    elif settings.language:
        prompt = language_prompt(settings.language)
    else:
        prompt = None
    glossary = ", ".join(word.strip() for word in settings.vocabulary if word.strip())
    if glossary:
        prompt = f"{prompt} Vocabulary: {glossary}." if prompt else f"Vocabulary: {glossary}."
    return prompt


def hotwords(settings: Settings, configured: str | list[str] | None) -> str | None:
    """A backend's own hot words followed by the shared ``vocabulary``, comma-separated, or None."""
    words = [configured] if isinstance(configured, str) else list(configured or [])
    words += [word for word in settings.vocabulary if word not in words]
    text = ", ".join(word.strip() for word in words if word and word.strip())
    return text or None


#: Characters of context an HTTP backend sends (Whisper reads at most 224 prompt tokens; ~4 characters each)
PROMPT_CHARS = 800


def segment_prompt(settings: Settings, context: str, fits: Callable[[str], bool] | None = None) -> str | None:
    """The prompt for one phrase of a streamed recording (or one utterance of a session): the
    user's :func:`transcription_prompt` first, then the end of ``context`` — the text already
    decided before this audio — which Whisper takes as what was just said.

    ``fits(prompt)`` says whether a prompt is short enough for the model (the local backend counts
    tokens); by default :data:`PROMPT_CHARS` characters. The context is cut at word boundaries from
    its start until it fits: the user's prompt always stays whole, in front.
    """
    fits = fits or (lambda text: len(text) <= PROMPT_CHARS)
    base = transcription_prompt(settings)
    words = context.split()
    low, high = 0, len(words)  # the shortest tail of words that fits: binary search on where it starts
    while low < high:
        middle = (low + high) // 2
        if fits(_join(base, words[middle:])):
            high = middle
        else:
            low = middle + 1
    return _join(base, words[low:]) or None


def _join(base: str | None, words: list[str]) -> str:
    return " ".join(part for part in (base, " ".join(words)) if part)
