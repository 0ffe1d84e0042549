"""E-mail over SMTP: plain text plus HTML, STARTTLS or implicit TLS, credentials from the environment."""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formataddr, formatdate

import aiosmtplib

from activities.channels.base import DeliveryError, Message
from activities.pages import PageTemplates
from escalation.channel_settings import EmailSettings, Security
from escalation.config import CHANNELS_FILE, ConfigError
from escalation.models import Roster, one_line
from escalation.text import header_value

_RETRYABLE = (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError)


class EmailSender:
    def __init__(
        self, settings: EmailSettings, env: Mapping[str, str], roster: Roster, templates: PageTemplates
    ) -> None:
        self._settings = settings
        self._roster = roster
        self._templates = templates
        self._username = env[settings.username_env] if settings.username_env else None
        self._password = env[settings.password_env] if settings.password_env else None
        try:
            self._tls = ssl.create_default_context(cafile=settings.ca_file) if settings.ca_file else None
        except (ssl.SSLError, OSError) as error:
            where = f"{CHANNELS_FILE}: email.ca_file: {settings.ca_file}"
            raise ConfigError([f"{where} cannot be used ({error}); use a PEM bundle"]) from None

    def compose(self, message: Message) -> EmailMessage:
        """One e-mail to one responder; its Message-ID derives from the idempotency key.

        Header values are one line whatever the templates and the incident say: the subject's
        whitespace is collapsed and the keys are percent-encoded (``header_value``).
        """
        responder = self._roster.responders[message.send.destination]
        sender = self._settings.sender
        mail = EmailMessage()
        mail["From"] = formataddr((sender.name, sender.email))
        mail["To"] = formataddr((responder.name, str(responder.contact.email)))
        mail["Subject"] = one_line(self._templates.render("subject", message.page))
        mail["Date"] = formatdate(usegmt=True)
        digest = hashlib.sha256(message.key.encode()).hexdigest()[:32]
        mail["Message-ID"] = f"<{digest}@{sender.email.rpartition('@')[2]}>"
        mail["X-Escalation-Idempotency-Key"] = header_value(message.key)
        mail["X-Escalation-Incident"] = header_value(message.page.incident_id)
        mail.set_content(self._templates.render("text", message.page) + "\n")
        mail.add_alternative(self._templates.render("html", message.page), subtype="html")
        return mail

    async def send(self, message: Message) -> None:
        settings = self._settings
        try:
            await aiosmtplib.send(
                self.compose(message),
                hostname=settings.host,
                port=settings.port,
                use_tls=settings.security is Security.SSL,
                start_tls=settings.security is Security.STARTTLS,
                tls_context=self._tls,
                username=self._username,
                password=self._password,
                timeout=settings.timeout.total_seconds(),
            )
        except aiosmtplib.SMTPAuthenticationError as error:
            raise DeliveryError(
                f"SMTP login refused ({error.code}); check the credentials", retry=False
            ) from error
        except _RETRYABLE as error:
            raise DeliveryError(f"SMTP server unavailable: {error}", retry=True) from error
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refusal.code for refusal in error.recipients]
            retry = all(400 <= code < 500 for code in codes)
            reason = "; ".join(f"{r.code} {r.message}" for r in error.recipients)
            raise DeliveryError(f"SMTP server refused the recipient ({reason})", retry=retry) from error
        except aiosmtplib.SMTPResponseException as error:
            retry = 400 <= error.code < 500
            raise DeliveryError(
                f"SMTP server refused the message ({error.code} {error.message})", retry=retry
            ) from error
        except aiosmtplib.SMTPException as error:
            raise DeliveryError(f"SMTP error: {error}", retry=False) from error
        except (OSError, ssl.SSLError) as error:
            raise DeliveryError(f"SMTP connection failed: {error}", retry=True) from error
