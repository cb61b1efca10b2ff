"""The languages Whisper models know (ISO-639-1 codes, ``haw`` and ``yue`` aside), for ``language`` checks.

The same list as faster-whisper's tokenizer and OpenAI's Whisper; kept here so that checking a
config does not load faster-whisper. English-only models (``*.en``) know only ``en``.
"""

from __future__ import annotations

from pathlib import Path

WHISPER_LANGUAGES = {
    "en": "English", "zh": "Chinese", "de": "German", "es": "Spanish", "ru": "Russian", "ko": "Korean",
    "fr": "French", "ja": "Japanese", "pt": "Portuguese", "tr": "Turkish", "pl": "Polish", "ca": "Catalan",
    "nl": "Dutch", "ar": "Arabic", "sv": "Swedish", "it": "Italian", "id": "Indonesian", "hi": "Hindi",
    "fi": "Finnish", "vi": "Vietnamese", "he": "Hebrew", "uk": "Ukrainian", "el": "Greek", "ms": "Malay",
    "cs": "Czech", "ro": "Romanian", "da": "Danish", "hu": "Hungarian", "ta": "Tamil", "no": "Norwegian",
    "th": "Thai", "ur": "Urdu", "hr": "Croatian", "bg": "Bulgarian", "lt": "Lithuanian", "la": "Latin",
    "mi": "Maori", "ml": "Malayalam", "cy": "Welsh", "sk": "Slovak", "te": "Telugu", "fa": "Persian",
    "lv": "Latvian", "bn": "Bengali", "sr": "Serbian", "az": "Azerbaijani", "sl": "Slovenian", "kn": "Kannada",
    "et": "Estonian", "mk": "Macedonian", "br": "Breton", "eu": "Basque", "is": "Icelandic", "hy": "Armenian",
    "ne": "Nepali", "mn": "Mongolian", "bs": "Bosnian", "kk": "Kazakh", "sq": "Albanian", "sw": "Swahili",
    "gl": "Galician", "mr": "Marathi", "pa": "Punjabi", "si": "Sinhala", "km": "Khmer", "sn": "Shona",
    "yo": "Yoruba", "so": "Somali", "af": "Afrikaans", "oc": "Occitan", "ka": "Georgian", "be": "Belarusian",
    "tg": "Tajik", "sd": "Sindhi", "gu": "Gujarati", "am": "Amharic", "yi": "Yiddish", "lo": "Lao",
    "uz": "Uzbek", "fo": "Faroese", "ht": "Haitian Creole", "ps": "Pashto", "tk": "Turkmen", "nn": "Nynorsk",
    "mt": "Maltese", "sa": "Sanskrit", "lb": "Luxembourgish", "my": "Myanmar", "bo": "Tibetan", "tl": "Tagalog",
    "mg": "Malagasy", "as": "Assamese", "tt": "Tatar", "haw": "Hawaiian", "ln": "Lingala", "ha": "Hausa",
    "ba": "Bashkir", "jw": "Javanese", "su": "Sundanese", "yue": "Cantonese",
}
ENGLISH_ONLY = {"en": "English"}


#: Vocabulary size of multilingual Whisper models (English-only ones have 51864 tokens).
MULTILINGUAL_VOCABULARY = 51865


def whisper_languages(model: str, directory: Path | None = None) -> dict[str, str]:
    """What Whisper model ``model`` (a size or a repo id) can transcribe; its CTranslate2 ``directory``,
    when on disk, tells for sure (English-only models have a smaller vocabulary)."""
    vocabulary = directory / "vocabulary.txt" if directory is not None else None
    if vocabulary is not None and vocabulary.is_file():
        try:
            with open(vocabulary, "rb") as lines:
                size = sum(1 for _ in lines)
        except OSError:
            size = 0
        if size:
            return WHISPER_LANGUAGES if size >= MULTILINGUAL_VOCABULARY else ENGLISH_ONLY
    name = model.rstrip("/").rsplit("/", 1)[-1].lower()
    return ENGLISH_ONLY if name.endswith((".en", "-en", ".en-ct2")) else WHISPER_LANGUAGES
