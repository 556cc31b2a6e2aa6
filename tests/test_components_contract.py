"""One contract every custom NLU component passes: it is created by Rasa's graph API with its
default config and a model storage in tmp_path, handles training data and live messages of every
language, and survives empty, emoji-only and very long text."""
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.entity_extractors import LanguageEntityExtractor, ProcedureEntityExtractor
from bot.components.safety_classifier import SafetyIntentOverride
from bot.components.sentence_encoder import MultilingualSentenceFeaturizer
from bot.components.tokenizer import ScriptAwareTokenizer

COMPONENTS = [ScriptAwareTokenizer, LanguageEntityExtractor, ProcedureEntityExtractor, MultilingualSentenceFeaturizer,
              SafetyIntentOverride]
TEXTS = ["ไมโครดิสเอกโตมีเสี่ยงไหมคะ", "내시경 디스크 제거술은 위험한가요?", "what are the risks of MISS", "显微椎间盘切除术的风险有哪些",
         "😀😀", "ok", "ก" * 1000]


def create(component, tmp_path):
    return component.create(
        component.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource(component.__name__),
        ExecutionContext(GraphSchema({}), node_name=component.__name__),
    )


def messages(texts=TEXTS):
    batch = [Message(data={"text": t}) for t in texts]
    ScriptAwareTokenizer(ScriptAwareTokenizer.get_default_config()).process(batch)
    return batch


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_component_processes_training_data_and_messages(component, tmp_path):
    instance = create(component, tmp_path)
    if hasattr(instance, "process_training_data"):
        data = TrainingData(training_examples=[Message(data={"text": t, "intent": "greet"}) for t in TEXTS])
        if component is not ScriptAwareTokenizer:
            ScriptAwareTokenizer(ScriptAwareTokenizer.get_default_config()).process_training_data(data)
        instance.process_training_data(data)
    processed = instance.process(messages())
    assert len(processed) == len(TEXTS)


def test_extractors_output_is_normalised(tmp_path):
    batch = messages()
    create(LanguageEntityExtractor, tmp_path).process(batch)
    create(ProcedureEntityExtractor, tmp_path).process(batch)
    found = [{(e["entity"], e["value"]) for e in m.get("entities", [])} for m in batch]
    assert found[0] == {("language", "th"), ("procedure", "microdiscectomy")}
    assert found[1] == {("language", "ko"), ("procedure", "endoscopic_discectomy")}
    assert found[2] == {("language", "en"), ("procedure", "miss")}
    assert found[3] == {("language", "zh"), ("procedure", "microdiscectomy")}
    assert found[4] == set() and found[5] == set()
    assert all(e["extractor"] in {"LanguageEntityExtractor", "ProcedureEntityExtractor"} for m in batch for e in m.get("entities", []))


def test_sentence_featurizer_adds_one_512_dimension_sentence_vector(tmp_path):
    batch = messages()
    create(MultilingualSentenceFeaturizer, tmp_path).process(batch)
    for message in batch:
        sequence, sentence = message.get_dense_features("text", [])
        assert sequence is None
        assert sentence.features.shape == (1, 512)
    # Same meaning, different languages: closer than an unrelated sentence.
    import numpy as np
    vectors = [m.get_dense_features("text", [])[1].features[0] for m in batch]
    assert np.dot(vectors[2], vectors[3]) > np.dot(vectors[2], vectors[6])


def classified(texts, intent="out_of_scope", confidence=0.4):
    batch = messages(texts)
    for message in batch:
        message.set("intent", {"name": intent, "confidence": confidence})
        message.set("intent_ranking", [{"name": intent, "confidence": confidence}, {"name": "greet", "confidence": 0.1}])
    return batch


def test_the_safety_override_escalates_and_declines_whatever_the_classifier_said(tmp_path):
    urgent, medicine, question, plain = create(SafetyIntentOverride, tmp_path).process(classified([
        "my dad suddenly cant move his left leg since this morning", "can i double up on my ibuprofen tonight",
        "can nerve damage make the leg numb?", "what is a microdiscectomy"]))
    assert urgent.get("intent") == {"name": "report_red_flag", "confidence": 1.0}
    assert urgent.get("intent_ranking")[0]["name"] == "report_red_flag"
    assert urgent.get("safety")["classifier_intent"] == "out_of_scope" and urgent.get("safety")["overridden"]
    assert medicine.get("intent")["name"] == "ask_medical_advice"
    assert question.get("intent")["name"] == "out_of_scope" and not question.get("safety")["overridden"]
    assert plain.get("intent")["name"] == "out_of_scope" and plain.get("safety")["kind"] is None


def test_the_safety_override_never_lowers_an_escalation(tmp_path):
    [message] = create(SafetyIntentOverride, tmp_path).process(
        classified(["should i stop my xarelto"], intent="report_red_flag", confidence=0.9))
    assert message.get("intent")["name"] == "report_red_flag"
