"""What the concierge says in its own words (never quotes), in each language it answers in.

Quotes from the hotel's documents stay as written; everything around them — the hand-over
message, the label in front of the sources, the line that introduces quoted sentences in
another language — comes from this catalogue. A language without an entry falls back to
English, and so does a message missing in a language.
"""

from __future__ import annotations

from dataclasses import replace

from app.answering.types import FALLBACK_MESSAGE, Answer
from app.languages import DEFAULT, SUPPORTED

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "handover": FALLBACK_MESSAGE,
        "sources": "Sources",
        "quoted": "From the hotel's information:",
        "unavailable": (
            "Sorry, I can't answer right now. Please try again in a moment or contact the "
            "front desk."
        ),
    },
    "de": {
        "handover": (
            "Das konnte ich in den Informationen des Hotels leider nicht finden. "
            "Die Rezeption hilft Ihnen gern weiter."
        ),
        "sources": "Quellen",
        "quoted": "Aus den Informationen des Hotels:",
        "unavailable": (
            "Leider kann ich gerade nicht antworten. Bitte versuchen Sie es gleich noch einmal "
            "oder wenden Sie sich an die Rezeption."
        ),
    },
    "fr": {
        "handover": (
            "Désolé, je n'ai pas trouvé cette information dans la documentation de l'hôtel. "
            "La réception se fera un plaisir de vous aider."
        ),
        "sources": "Sources",
        "quoted": "D'après les informations de l'hôtel :",
        "unavailable": (
            "Désolé, je ne peux pas répondre pour le moment. Réessayez dans un instant ou "
            "contactez la réception."
        ),
    },
    "es": {
        "handover": (
            "Lo siento, no he encontrado eso en la información del hotel. "
            "En recepción le ayudarán con mucho gusto."
        ),
        "sources": "Fuentes",
        "quoted": "Según la información del hotel:",
        "unavailable": (
            "Lo siento, ahora mismo no puedo responder. Inténtelo de nuevo en un momento o "
            "contacte con recepción."
        ),
    },
    "it": {
        "handover": (
            "Mi dispiace, non ho trovato questa informazione tra quelle dell'hotel. "
            "La reception sarà lieta di aiutarla."
        ),
        "sources": "Fonti",
        "quoted": "Dalle informazioni dell'hotel:",
        "unavailable": (
            "Mi dispiace, al momento non posso rispondere. Riprovi tra poco o contatti la "
            "reception."
        ),
    },
    "zh": {
        "handover": "抱歉，我在酒店资料中没有找到相关信息。前台工作人员很乐意为您提供帮助。",
        "sources": "来源",
        "quoted": "根据酒店资料：",
        "unavailable": "抱歉，我现在无法回答。请稍后再试，或联系前台。",
    },
    "ja": {
        "handover": (
            "申し訳ありません。ホテルの案内にはその情報が見つかりませんでした。"
            "フロントがご案内いたします。"
        ),
        "sources": "出典",
        "quoted": "ホテルの案内より：",
        "unavailable": (
            "申し訳ありません。ただいまお答えできません。"
            "少し時間をおいて再度お試しいただくか、フロントにお問い合わせください。"
        ),
    },
}

# What the generative writer is told, in English (small models follow English instructions
# best), about the language of its answer.
LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "zh": "Chinese (Simplified)",
    "ja": "Japanese",
}

assert set(MESSAGES) == set(SUPPORTED) == set(LANGUAGE_NAMES)


def message(key: str, language: str | None = None) -> str:
    """The message ``key`` in ``language``, else in English; KeyError for an unknown key."""
    table = MESSAGES.get(language or DEFAULT, MESSAGES[DEFAULT])
    return table.get(key) or MESSAGES[DEFAULT][key]


def handover(language: str | None = None) -> str:
    """The hand-over message: the answer is not in the hotel's information."""
    return message("handover", language)


def is_handover(text: str) -> bool:
    """Whether ``text`` is the hand-over message in one of the languages."""
    return any(text == table["handover"] for table in MESSAGES.values())


# Writers whose text is quoted from the sources (not written in the guest's language).
QUOTING_SOURCES = frozenset({"extractive", "extractive_fallback"})


def localise(answer: Answer, language: str | None) -> Answer:
    """``answer`` as the guest reads it in ``language``: the hand-over in that language, and
    quoted sentences introduced in it. A model-written answer is already in the language."""
    if not language or language == DEFAULT:
        return answer
    if answer.escalate and (answer.answer_source in QUOTING_SOURCES or is_handover(answer.text)):
        return replace(answer, text=handover(language))
    if answer.escalate or answer.answer_source not in QUOTING_SOURCES or not answer.text:
        return answer
    return replace(answer, text=f"{message('quoted', language)} {answer.text}")
