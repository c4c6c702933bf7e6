"""The words for errors a user can cause (service error codes -> translatable text)."""

from flask_babel import gettext, lazy_gettext

from tenants.errors import ServiceError

MESSAGES = {
    "email_invalid": lazy_gettext("Enter a valid e-mail address."),
    "email_taken": lazy_gettext(
        "An account with this e-mail already exists. Log in, or reset your password."
    ),
    "password_short": lazy_gettext("Use a password of at least %(min)s characters."),
    "password_long": lazy_gettext("Use a password of at most %(max)s characters."),
    "required": lazy_gettext("This field is required."),
    "too_long": lazy_gettext("Use at most %(max)s characters."),
    "bad_credentials": lazy_gettext("Wrong e-mail or password."),
    "no_active_shop": lazy_gettext(
        "Your account has no active shop. Ask the shop's admin to re-enable you."
    ),
    "reset_expired": lazy_gettext("This reset link has expired. Ask for a new one."),
    "reset_invalid": lazy_gettext("This reset link is not valid or has already been used."),
    "seat_limit": lazy_gettext(
        "All %(limit)s seats of your plan are taken. Disable a member or cancel an invitation, "
        "or upgrade to Pro and buy more seats."
    ),
    "forbidden": lazy_gettext("Only the shop's owner or an admin can do this."),
    "role_invalid": lazy_gettext("Choose the role admin or agent."),
    "already_member": lazy_gettext("This person is already a member of the shop."),
    "member_disabled": lazy_gettext("This person was disabled. Re-enable them in the list below."),
    "invitation_invalid": lazy_gettext("This invitation link is not valid."),
    "invitation_used": lazy_gettext("This invitation has already been used. Log in instead."),
    "invitation_expired": lazy_gettext(
        "This invitation has expired. Ask the shop's admin for a new one."
    ),
    "not_found": lazy_gettext("Not found."),
    "owner_protected": lazy_gettext(
        "The shop's owner cannot be disabled or have their role changed."
    ),
    "not_yourself": lazy_gettext("You cannot change your own role or disable yourself."),
    "passwords_differ": lazy_gettext("The two passwords differ."),
    "language_invalid": lazy_gettext("Choose a language from the list."),
    # chat
    "rate_limited": lazy_gettext("You are going too fast. Wait a moment and try again."),
    "unauthorized": lazy_gettext("Your session has ended. Reload the page, please."),
    "origin_not_allowed": lazy_gettext("This website is not allowed to use this chat."),
    "unknown_site": lazy_gettext("This chat is not available."),
    "bad_request": lazy_gettext("That request could not be understood."),
    "bad_url": lazy_gettext("The page address is not valid."),
    "bad_client_id": lazy_gettext("The message has no valid id."),
    "empty": lazy_gettext("Write a message first."),
    "closed": lazy_gettext("This conversation is closed."),
    "bad_status": lazy_gettext("Choose online, away or offline."),
    "bad_score": lazy_gettext("Choose from 1 to 5 stars."),
    "contact_required": lazy_gettext("Leave a phone number or an e-mail address so we can reply."),
    "phone_invalid": lazy_gettext("Enter a valid phone number."),
    "file_missing": lazy_gettext("Choose a file to send."),
    "file_too_big": lazy_gettext("Files can be at most %(max_mb)s MB."),
    "file_type": lazy_gettext("Only images, PDF, ZIP and Office documents can be sent."),
    "suspended": lazy_gettext("This shop is suspended. Contact Huike support."),
    # chat settings
    "color_invalid": lazy_gettext("Choose a colour like #1f6feb."),
    "domain_invalid": lazy_gettext("%(domain)s is not a domain name like myshop.com."),
    "number_invalid": lazy_gettext("Enter a whole number from %(low)s to %(high)s."),
    "hours_invalid": lazy_gettext("Give each open day an opening time before the closing time."),
    "shortcut_invalid": lazy_gettext(
        "A shortcut is one word of letters, digits, - or _ (at most 30 characters)."
    ),
}


def message_for(error: ServiceError) -> str:
    template = MESSAGES.get(error.code)
    if template is None:
        return gettext("Something went wrong (%(code)s).", code=error.code)
    return str(template) % error.params if error.params else str(template)
