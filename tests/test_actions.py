"""Actions over the real content files, with a rasa-sdk Tracker built in code."""
import json

from rasa_sdk.events import SlotSet

from actions.fallback import ActionAskAffirmation
from actions.language import ActionChangeLanguage, requested_language
from actions.safety import ActionInformationNotice
from actions.topics import ActionAnswerTopic, ActionListProcedures
from bot.content import PROCEDURES, default_content
from tests.conftest import make_tracker

PROCEDURE = {"entity": "procedure", "value": "microdiscectomy"}
SPOKEN_BEFORE = [{"event": "session_started"}, {"event": "bot", "text": "hello"}]


async def test_answers_the_topic_in_the_conversation_language(dispatcher):
    tracker = make_tracker("ไมโครดิสเอกโตมีเสี่ยงไหม", "ask_risks", [PROCEDURE], {"language": "th"}, SPOKEN_BEFORE)
    events = await ActionAnswerTopic().run(dispatcher, tracker, {})
    expected = default_content().answer("microdiscectomy", "risks", "th").text
    assert [m["text"] for m in dispatcher.messages] == [expected]
    assert SlotSet("procedure", "microdiscectomy") in events


async def test_the_procedure_carries_over_from_earlier_turns(dispatcher):
    tracker = make_tracker("and the risks?", "ask_risks", [], {"language": "en", "procedure": "endoscopic_discectomy"}, SPOKEN_BEFORE)
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["text"] == default_content().answer("endoscopic_discectomy", "risks", "en").text


async def test_without_a_procedure_it_answers_generally_then_asks_with_one_button_per_procedure(dispatcher):
    tracker = make_tracker("회복 기간은요?", "ask_recovery", [], {"language": "ko"}, SPOKEN_BEFORE)
    events = await ActionAnswerTopic().run(dispatcher, tracker, {})
    general, message = dispatcher.messages
    assert general["text"] == default_content().answer("miss", "recovery", "ko").text
    assert message["response"] == "utter_ask_procedure"
    titles = [b["title"] for b in message["buttons"]]
    assert titles == ["미세현미경 디스크 제거술", "내시경 추간판 제거술", "미세 후궁절제술", "최소침습 척추 수술"]
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads[0] == '/ask_recovery{"procedure": "microdiscectomy"}'
    assert len(payloads) == len(PROCEDURES)
    assert SlotSet("pending_topic", "recovery") in events


async def test_the_pending_question_is_answered_when_a_procedure_is_named(dispatcher):
    tracker = make_tracker("内镜", "inform_procedure", [{"entity": "procedure", "value": "endoscopic_discectomy"}],
                           {"language": "zh", "pending_topic": "recovery"}, SPOKEN_BEFORE)
    events = await ActionAnswerTopic().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["text"] == default_content().answer("endoscopic_discectomy", "recovery", "zh").text
    assert SlotSet("pending_topic", None) in events


ASKED_WHICH_PROCEDURE = SPOKEN_BEFORE + [
    {"event": "user", "text": "ความเสี่ยงมีอะไรบ้าง"},
    {"event": "bot", "text": "...", "metadata": {"utter_action": "utter_ask_procedure"}},
    {"event": "user", "text": "อยากทราบของไมโครดิสก์ค่ะ"},
]


async def test_naming_a_procedure_in_reply_to_which_procedure_answers_the_pending_question(dispatcher):
    tracker = make_tracker("อยากทราบของไมโครดิสก์ค่ะ", "ask_overview", [PROCEDURE],
                           {"language": "th", "pending_topic": "risks"}, ASKED_WHICH_PROCEDURE)
    events = await ActionAnswerTopic().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["text"] == default_content().answer("microdiscectomy", "risks", "th").text
    assert SlotSet("pending_topic", None) in events


async def test_a_what_is_question_later_in_the_conversation_gets_the_overview(dispatcher):
    # The question is still pending, but the assistant has said other things since asking.
    events = ASKED_WHICH_PROCEDURE[:-1] + [
        {"event": "user", "text": "สวัสดีค่ะ"},
        {"event": "bot", "text": "สวัสดีค่ะ", "metadata": {"utter_action": "utter_greet"}},
        {"event": "user", "text": "ไมโครดิสก์คืออะไร"},
    ]
    tracker = make_tracker("ไมโครดิสก์คืออะไร", "ask_overview", [PROCEDURE], {"language": "th", "pending_topic": "risks"}, events)
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["text"] == default_content().answer("microdiscectomy", "overview", "th").text


async def test_compare_answers_each_procedure_named(dispatcher):
    entities = [PROCEDURE, {"entity": "procedure", "value": "endoscopic_discectomy"}]
    tracker = make_tracker("microdiscectomy vs endoscopic", "ask_compare", entities, {"language": "en"}, SPOKEN_BEFORE)
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    content = default_content()
    texts = {content.answer(p, "compare", "en").text for p in ("microdiscectomy", "endoscopic_discectomy")}
    assert {m["text"] for m in dispatcher.messages} == texts


async def test_doctor_questions_need_no_procedure(dispatcher):
    tracker = make_tracker("what should I ask my surgeon", "ask_doctor_questions", [], {"language": "en"}, SPOKEN_BEFORE)
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["text"] == default_content().answer("miss", "doctor_questions", "en").text


async def test_the_first_answer_of_a_session_carries_the_notice(dispatcher):
    tracker = make_tracker("what is MISS", "ask_overview", [{"entity": "procedure", "value": "miss"}],
                           {"language": "en"}, [{"event": "session_started"}])
    await ActionAnswerTopic().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["response"] == "utter_information_notice"
    assert len(dispatcher.messages) == 2


async def test_the_notice_is_said_once_per_session(dispatcher):
    await ActionInformationNotice().run(dispatcher, make_tracker("hi", "greet", events=SPOKEN_BEFORE), {})
    assert dispatcher.messages == []
    new_session = SPOKEN_BEFORE + [{"event": "session_started"}]
    await ActionInformationNotice().run(dispatcher, make_tracker("hi", "greet", events=new_session), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_information_notice"]


async def test_list_procedures_offers_each_procedure(dispatcher):
    await ActionListProcedures().run(dispatcher, make_tracker("what can you tell me", "list_procedures", slots={"language": "th"}, events=SPOKEN_BEFORE), {})
    [message] = dispatcher.messages
    assert [json.loads(b["payload"][len("/ask_overview"):])["procedure"] for b in message["buttons"]] == list(PROCEDURES)


def test_requested_language_in_any_language():
    assert requested_language("Can you speak Thai please?") == "th"
    assert requested_language("한국어로 해주세요") == "ko"
    assert requested_language("ตอบเป็นภาษาอังกฤษได้ไหม") == "en"
    assert requested_language("请用中文回答") == "zh"
    assert requested_language("another language please") is None


async def test_change_language_sets_the_slot(dispatcher):
    events = await ActionChangeLanguage().run(dispatcher, make_tracker("中文可以吗", "change_language", slots={"language": "en"}), {})
    assert events == [SlotSet("language", "zh")]


async def test_ask_affirmation_offers_labelled_intents_and_something_else(dispatcher):
    tracker = make_tracker("ไมโครดิส หลังผ่า", "nlu_fallback", [PROCEDURE], {"language": "th"})
    tracker.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 0.4}, {"name": "ask_recovery", "confidence": 0.3},
        {"name": "ask_risks", "confidence": 0.2}]
    await ActionAskAffirmation().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert [b["title"] for b in message["buttons"]] == ["การพักฟื้นหลังผ่าตัด", "ความเสี่ยงและภาวะแทรกซ้อน", "เรื่องอื่น"]
    assert message["buttons"][0]["payload"] == '/ask_recovery{"procedure": "microdiscectomy"}'
