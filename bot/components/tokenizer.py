"""A tokenizer that first judges each message's language from its script, then tokenizes it
with spaCy the way that language needs:

- Thai: ``spacy.blank("th")`` with PyThaiNLP's dictionary segmenter under it, given the procedure
  names as user words and told to drop whitespace tokens;
- Chinese: ``spacy.blank("zh")`` with the jieba segmenter, given the procedure names as user words;
- Korean: spaCy's rule-based tokenizer (spaCy's own Korean tokenizer needs system MeCab);
- English: ``spacy.blank("en")``.

The language is also set on the message as ``language`` (in the parse result) for the
language entity extractor and the conversation.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Optional, Text

import regex
import spacy
from spacy.tokens import Doc
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components._dictionary_fingerprint import procedure_names_fingerprint
from bot.language import detect_language
from bot.procedure_names import default_dictionary

LANGUAGE = "language"
# Punctuation, symbols and emoji carry no words; the character n-gram featurizer still sees them.
_NO_WORD = regex.compile(r"^[\p{P}\p{S}\s]+$")


class _ThaiSegmenter:
    """spaCy tokenizer over PyThaiNLP's newmm with our user words and no whitespace tokens."""

    def __init__(self, vocab, user_words: List[str]):
        from pythainlp.tokenize import DEFAULT_WORD_DICT_TRIE

        self.vocab = vocab
        # PyThaiNLP builds its default dictionary (thai_words) into a trie when imported, about 60 MB
        # of Python objects; a second trie of the same words plus ours would take as much again, so
        # our words go into the default one. Anything else in this process that segments Thai then
        # also keeps procedure names whole, which is what we want everywhere.
        for word in user_words:
            DEFAULT_WORD_DICT_TRIE.add(word)
        self.trie = DEFAULT_WORD_DICT_TRIE

    def __call__(self, text: str) -> Doc:
        from pythainlp.tokenize import word_tokenize

        words = word_tokenize(text, custom_dict=self.trie, engine="newmm", keep_whitespace=False)
        return _doc_from_words(self.vocab, text, words)


def _doc_from_words(vocab, text: str, words: List[str]) -> Doc:
    """A Doc of the words whose text is exactly `text`: whitespace between words becomes a
    word's trailing space or, when longer than one space, a whitespace token of its own, as
    spaCy's own tokenizers do (so token offsets are offsets into the original text)."""
    kept: List[str] = []
    spaces: List[bool] = []
    position = 0

    def add_gap(gap: str) -> None:
        if gap.startswith(" ") and kept and not spaces[-1]:
            spaces[-1] = True
            gap = gap[1:]
        if gap:
            kept.append(gap)
            spaces.append(False)

    for word in words:
        start = text.find(word, position)
        if start < 0:  # a segmenter that altered a word; its characters stay in the next gap
            continue
        add_gap(text[position:start])
        kept.append(word)
        spaces.append(False)
        position = start + len(word)
    add_gap(text[position:])
    return Doc(vocab, words=kept, spaces=spaces)


@lru_cache(maxsize=None)
def spacy_pipeline(language: str):
    """One blank spaCy pipeline per language, built once per process."""
    dictionary = default_dictionary()
    if language == "th":
        nlp = spacy.blank("th")
        nlp.tokenizer = _ThaiSegmenter(nlp.vocab, dictionary.names("th"))
        return nlp
    if language == "zh":
        import jieba

        jieba.setLogLevel(60)  # jieba prints its cache-building to stderr otherwise
        for name in dictionary.names("zh"):
            jieba.add_word(name)
        return spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    if language == "ko":
        return spacy.blank("ko", config={"nlp": {"tokenizer": {"@tokenizers": "spacy.Tokenizer.v1"}}})
    return spacy.blank("en")


def tokenize_text(text: str, language: Optional[str]) -> List[Token]:
    """Rasa tokens (text and character offsets) for text in the given language."""
    doc = spacy_pipeline(language or "en")(text)
    tokens = [
        Token(t.text, t.idx, end=t.idx + len(t.text))
        for t in doc
        if not t.is_space and not _NO_WORD.match(t.text)
    ]
    if not tokens and text.strip():
        # Rasa's featurizers need at least one token; emoji-only text is one token.
        stripped = text.strip()
        start = text.index(stripped)
        tokens = [Token(stripped, start, end=start + len(stripped))]
    return tokens


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class ScriptAwareTokenizer(Tokenizer):
    """Detects the language of each message from its script and tokenizes it accordingly."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        return procedure_names_fingerprint()

    @staticmethod
    def required_packages() -> List[Text]:
        return ["spacy", "pythainlp", "jieba"]

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str):
                message.set(LANGUAGE, detect_language(text), add_to_output=True)
        return super().process(messages)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            text = example.get(TEXT)
            if isinstance(text, str):
                example.set(LANGUAGE, detect_language(text))
        return super().process_training_data(training_data)

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = message.get(attribute)
        language = message.get(LANGUAGE) if attribute == TEXT else None
        if language is None:
            language = detect_language(text) or "en"
        return self._apply_token_pattern(tokenize_text(text, language))
