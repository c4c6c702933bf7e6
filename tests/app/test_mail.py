"""With SMTP_URL set, mail goes to a real SMTP server (one the test runs on loopback)."""

from aiosmtpd.controller import Controller

from tenants.jobs import jobs_of

from ..conftest import free_port, make_test_app


class Inbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope)
        return "250 OK"


def test_reset_mail_goes_through_smtp(two_tenants):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = make_test_app(SMTP_URL=f"smtp://127.0.0.1:{port}")
        app.test_client().post("/password/forgot", data={"email": "owner-a@example.com"})
        jobs_of(app).wait_idle()  # sent by a job, after the request's commit
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    envelope = inbox.messages[0]
    assert envelope.rcpt_tos == ["owner-a@example.com"]
    assert b"/password/reset/" in envelope.content
