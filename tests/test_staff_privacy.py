"""Personal data in patients' messages is masked for staff; the numbers patients write about surgery
are not. Examples in Thai, Korean, English and Chinese, written as patients write them."""
import pytest

from bot.staff.privacy import PII_PLACEHOLDERS, mask_pii


@pytest.mark.parametrize("text, masked", [
    # e-mail addresses
    ("my email is somchai.k@gmail.com thanks", "my email is [email] thanks"),
    ("อีเมลsomchai_k+spine@hospital.co.thค่ะ", "อีเมล[email]ค่ะ"),
    ("이메일은 kim.minsu@naver.com 입니다", "이메일은 [email] 입니다"),
    ("我的邮箱是wang.li@qq.com。", "我的邮箱是[email]。"),
    # Thai citizen IDs: plain, or grouped 1-4-5-2-1 with dashes or spaces
    ("เลขบัตรประชาชน 1234567890123 ค่ะ", "เลขบัตรประชาชน [national ID] ค่ะ"),
    ("บัตร1-2345-67890-12-3ครับ", "บัตร[national ID]ครับ"),
    ("ID 3 1012 00345 67 8 please", "ID [national ID] please"),
    # Korean resident registration numbers: YYMMDD-NNNNNNN, hyphen or space optional
    ("주민번호 900101-1234567입니다", "주민번호 [national ID]입니다"),
    ("주민등록번호는 850315 2345678", "주민등록번호는 [national ID]"),
    ("주민번호9001018234567", "주민번호[national ID]"),
    # Thai phones
    ("เบอร์0812345678ค่ะ", "เบอร์[phone]ค่ะ"),
    ("โทร 081-234-5678 ได้เลย", "โทร [phone] ได้เลย"),
    ("บ้าน 02-123-4567", "บ้าน [phone]"),
    ("call me +66 81 234 5678", "call me [phone]"),
    ("เบอร์ ๐๘๑๒๓๔๕๖๗๘ ค่ะ", "เบอร์ [phone] ค่ะ"),
    # Korean phones
    ("연락처는 010-1234-5678입니다", "연락처는 [phone]입니다"),
    ("01012345678로 전화주세요", "[phone]로 전화주세요"),
    ("서울 02-123-4567", "서울 [phone]"),
    ("해외에서는 +82 10-1234-5678", "해외에서는 [phone]"),
    # Chinese mobiles, also in full-width digits from a Chinese input method
    ("我的电话是13812345678，谢谢", "我的电话是[phone]，谢谢"),
    ("请打+86 138 1234 5678", "请打[phone]"),
    ("手机１３８１２３４５６７８", "手机[phone]"),
    # any international number
    ("reach me on +1 (555) 123-4567 after 6", "reach me on [phone] after 6"),
    ("WhatsApp +44 20 7946 0958", "WhatsApp [phone]"),
])
def test_personal_data_is_replaced_by_its_placeholder(text, masked):
    assert mask_pii(text) == masked


@pytest.mark.parametrize("text", [
    "My MRI shows a herniated disc at L4-L5 and L5-S1",
    "How long is the hospital stay, 3-5 days?",
    "Can I walk 2 weeks after surgery? I am 67 years old",
    "Surgery is on 2026-11-25 at 10:30, the scar is 1-2 cm",
    "The price was 120,000 baht, is 50% covered by insurance?",
    "พักฟื้น 6-8 สัปดาห์ไหมคะ ปวดหลังมาตั้งแต่ปี 2024",
    "หมอนรองกระดูก L4-L5 ผ่าตัดวันที่ 25/11/2026 เวลา 10:30 น.",
    "수술은 2026-11-25 10:30이고 입원은 3-5일인가요? 저는 45세입니다",
    "비용이 1,200,000원인가요? L5-S1 디스크예요",
    "我65岁，L4-L5椎间盘突出，住院3-5天吗？费用50%报销吗",
    "手术后2周能上班吗？伤口1-2厘米",
    "+5 kg since the operation",
])
def test_numbers_about_surgery_are_kept(text):
    assert mask_pii(text) == text


def test_a_message_with_several_kinds_keeps_everything_around_them():
    text = ("สวัสดีค่ะ ชื่อสมศรี บัตร 1234567890123 เบอร์0812345678 "
            "อีเมล somsri@gmail.com ปวดหลัง L4-L5 มา 2 ปี ผ่าตัด 2026-11-25 ได้ไหมคะ")
    assert mask_pii(text) == ("สวัสดีค่ะ ชื่อสมศรี บัตร [national ID] เบอร์[phone] "
                              "อีเมล [email] ปวดหลัง L4-L5 มา 2 ปี ผ่าตัด 2026-11-25 ได้ไหมคะ")


def test_an_id_is_an_id_not_a_phone_number_and_an_address_is_not_split():
    assert mask_pii("1234567890123") == "[national ID]"
    assert mask_pii("0812345678@gmail.com") == "[email]"


def test_the_placeholders_are_the_three_kinds():
    assert PII_PLACEHOLDERS == ("[email]", "[national ID]", "[phone]")
    assert mask_pii(" ".join(PII_PLACEHOLDERS)) == " ".join(PII_PLACEHOLDERS)
