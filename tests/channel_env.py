"""Test-only secrets for every channel in credentials.yml, so the shared test assistant starts them all.

These are made-up values for loopback tests, not credentials of any real account.
"""
LINE_CHANNEL_SECRET = "test-line-channel-secret"
KAKAO_SKILL_SECRET = "test-kakao-skill-secret"
WECHAT_TOKEN = "testwechattoken"
TELEGRAM_SECRET_TOKEN = "test-telegram-secret-token"
MESSENGER_APP_SECRET = "test-messenger-app-secret"
MESSENGER_VERIFY_TOKEN = "test-messenger-verify-token"
TWILIO_AUTH_TOKEN = "test-twilio-auth-token"
TWILIO_WEBHOOK_URL = "https://hospital.example/webhooks/twilio/webhook"


def channel_env(vendor_api_url: str) -> dict:
    """Environment for the test assistant: every channel on, vendor APIs pointed at the stand-in."""
    return {
        "LINE_CHANNEL_SECRET": LINE_CHANNEL_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": "test-line-access-token",
        "LINE_API_ENDPOINT": vendor_api_url,
        "KAKAO_SKILL_SECRET": KAKAO_SKILL_SECRET,
        "WECHAT_TOKEN": WECHAT_TOKEN,
        "TELEGRAM_BOT_TOKEN": "123456:test-telegram-bot-token",
        "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET_TOKEN,
        "TELEGRAM_API_ENDPOINT": vendor_api_url,
        "MESSENGER_VERIFY_TOKEN": MESSENGER_VERIFY_TOKEN,
        "MESSENGER_APP_SECRET": MESSENGER_APP_SECRET,
        "MESSENGER_PAGE_ACCESS_TOKEN": "test-messenger-page-token",
        "TWILIO_ACCOUNT_SID": "ACtest00000000000000000000000000",
        "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
        "TWILIO_WHATSAPP_NUMBER": "whatsapp:+15550000000",
        "TWILIO_WEBHOOK_URL": TWILIO_WEBHOOK_URL,
    }
