from pydantic import Field
from voice_transcriber import ConfigModel, Formatter, Transcript, hookimpl


class EmojiConfig(ConfigModel):
    emojis: dict[str, str] = Field({"smiley": "🙂", "thumbs up": "👍"}, description="Spoken words → emoji.")


class EmojiFormatter(Formatter):
    name = "emoji"
    description = "Say 'smiley' to type 🙂."
    config_section, config_model = "formatter.emoji", EmojiConfig

    def format(self, transcript: Transcript) -> str:
        text = transcript.text
        for spoken, emoji in self.config.emojis.items():
            text = text.replace(spoken, emoji)
        return text


@hookimpl
def vt_register_formatters(register):
    register(EmojiFormatter)
