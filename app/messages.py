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
    "seat_limit_paid": lazy_gettext(
        "All %(limit)s seats you pay for are taken. Disable a member or cancel an invitation, "
        "or add seats on the billing page."
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
    "invitation_replaced": lazy_gettext(
        "This invitation was replaced by a newer one: use the link in the latest e-mail, or ask "
        "the shop's admin to send it again."
    ),
    "not_found": lazy_gettext("Not found."),
    "push_endpoint_invalid": lazy_gettext("This browser's push service address is not secure."),
    "push_subscription_invalid": lazy_gettext("This browser sent an incomplete subscription."),
    "push_key_invalid": lazy_gettext("This browser sent a subscription key that is not valid."),
    "push_kind_invalid": lazy_gettext("Choose among the kinds of notification listed."),
    "owner_protected": lazy_gettext(
        "The shop's owner cannot be disabled or have their role changed."
    ),
    "not_yourself": lazy_gettext("You cannot change your own role or disable yourself."),
    "passwords_differ": lazy_gettext("The two passwords differ."),
    "language_invalid": lazy_gettext("Choose a language from the list."),
    "timezone_invalid": lazy_gettext("Choose a time zone from the list, like Asia/Shanghai."),
    "current_password_wrong": lazy_gettext("Your current password is not right."),
    # chat
    "rate_limited": lazy_gettext("You are going too fast. Wait a moment and try again."),
    "unauthorized": lazy_gettext("Your session has ended. Reload the page, please."),
    "origin_not_allowed": lazy_gettext("This website is not allowed to use this chat."),
    "unknown_site": lazy_gettext("This chat is not available."),
    "bad_request": lazy_gettext("That request could not be understood."),
    "text_invalid": lazy_gettext(
        "The text holds a character that cannot be stored (a NUL or a broken Unicode character)."
    ),
    "json_too_deep": lazy_gettext("The data is nested too deeply: at most %(max)s levels."),
    "server_error": lazy_gettext("Something went wrong on our side. Please try again in a moment."),
    "body_too_large": lazy_gettext("The request body is too large: at most %(max_mb)s MB."),
    "bad_url": lazy_gettext("The page address is not valid."),
    "bad_client_id": lazy_gettext("The message has no valid id."),
    "empty": lazy_gettext("Write a message first."),
    "closed": lazy_gettext("This conversation is closed."),
    "option_taken": lazy_gettext("You already chose here. Write your question any time."),
    "robot_handed_over": lazy_gettext("A person is answering this chat now."),
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
    "domain_invalid": lazy_gettext("“%(domain)s” is not a website address like myshop.com."),
    "side_invalid": lazy_gettext("Choose left or right."),
    "number_invalid": lazy_gettext("Enter a whole number from %(low)s to %(high)s."),
    "hours_invalid": lazy_gettext("Give each open day an opening time before the closing time."),
    "shortcut_invalid": lazy_gettext(
        "A shortcut is one word of letters, digits, - or _ (at most 30 characters)."
    ),
    "shortcut_taken": lazy_gettext(
        "/%(shortcut)s is already a shortcut here: choose another one, or edit that reply."
    ),
    # customers (CRM)
    "amount_invalid": lazy_gettext("Enter an amount like 199 or 199.50."),
    "number_expected": lazy_gettext("Enter a number."),
    "date_invalid": lazy_gettext("Enter a date like 2026-11-22."),
    "datetime_invalid": lazy_gettext(
        "Enter a date and time with its time zone, like 2026-11-22T10:30:00+08:00."
    ),
    "choice_invalid": lazy_gettext("Choose one of: %(choices)s."),
    "field_key_invalid": lazy_gettext(
        "A field key starts with a letter and has only letters, digits and _ (at most 40)."
    ),
    "field_key_taken": lazy_gettext("A field with this key already exists."),
    "field_kind_invalid": lazy_gettext("Choose text, number, date or choice."),
    "choices_required": lazy_gettext("Give a choice field at least one choice."),
    "fields_invalid": lazy_gettext("Custom fields must be given as key-value pairs."),
    "field_unknown": lazy_gettext("There is no custom field %(key)s."),
    "entry_external_id_taken": lazy_gettext(
        "Another entry of the knowledge base already has the id %(value)s."
    ),
    "entry_external_id_repeated": lazy_gettext(
        "The id %(value)s is given to more than one entry of this request."
    ),
    "entries_body_invalid": lazy_gettext("Send a JSON array of entries."),
    "external_id_taken": lazy_gettext("Another customer already has the id %(value)s."),
    "phone_taken": lazy_gettext("Another customer already has the phone number %(value)s."),
    "email_taken_customer": lazy_gettext("Another customer already has the e-mail %(value)s."),
    "too_many": lazy_gettext("At most %(max)s are allowed."),
    "owner_invalid": lazy_gettext("Choose an active member of the shop as the owner."),
    "customer_required": lazy_gettext(
        "Give the order's customer: an external id, a phone number or an e-mail."
    ),
    "status_invalid": lazy_gettext("Give a status of at most 32 characters."),
    "items_invalid": lazy_gettext("Give items as a list of {name, quantity, price}."),
    "body_invalid": lazy_gettext("Send a JSON object."),
    "body_unexpected": lazy_gettext("This request takes no body: send none."),
    "currency_invalid": lazy_gettext("Give a three-letter currency code like CNY."),
    "identity_invalid": lazy_gettext(
        "Give the signed-in user's id (at most 128 characters) and its hash: "
        "{id, name, email, phone, hash}."
    ),
    "identity_hash_invalid": lazy_gettext(
        "The hash is missing or does not match this id. Compute HMAC-SHA256 of the id with the "
        "shop's identity secret on your server, in hex."
    ),
    "confirm_required": lazy_gettext("Tick the box to confirm."),
    "contact_needed": lazy_gettext("Enter a valid phone number or e-mail address."),
    "merge_same": lazy_gettext("Choose another customer to merge with."),
    "merge_merged": lazy_gettext("This customer has already been merged into another one."),
    "filter_invalid": lazy_gettext("This filter value is not valid."),
    "filter_empty": lazy_gettext("Choose a search or a filter first, then save it."),
    "cursor_invalid": lazy_gettext("This page link is not valid. Start again from the first page."),
    "date_range_invalid": lazy_gettext("Choose an end that comes after the start."),
    # CSV import (app/crm/imports.py)
    "import_file_missing": lazy_gettext("Choose a CSV file to import."),
    "import_kind_invalid": lazy_gettext("Choose customers or orders."),
    "import_not_csv": lazy_gettext(
        "This is not a CSV file. In Excel, choose File › Save As, type “CSV UTF-8”, and upload "
        "that file."
    ),
    "import_encoding": lazy_gettext(
        "The file's text could not be read. Save it as “CSV UTF-8” and upload it again."
    ),
    "import_unreadable": lazy_gettext(
        "The file could not be read as CSV: a cell is far too long or a quote is not closed."
    ),
    "import_empty": lazy_gettext(
        "The file is empty. Upload a CSV whose first row names the columns."
    ),
    "import_no_header": lazy_gettext(
        "The first row should name the columns (like Name, Phone, E-mail) but it holds data. "
        "Add a row of column names at the top."
    ),
    "import_no_rows": lazy_gettext("The file names its columns but has no rows to import."),
    "import_too_many_rows": lazy_gettext(
        "A file can have at most %(max)s rows. Split it into smaller files."
    ),
    "import_target_invalid": lazy_gettext("Choose from the list what the column %(column)s is."),
    "import_target_twice": lazy_gettext(
        "The columns %(first)s and %(second)s are set to the same field. "
        "Set one of them to “Don't import”."
    ),
    "import_no_customer_key": lazy_gettext(
        "Set a column to the user id, a phone or an e-mail, so each row's customer is "
        "recognised (and found again by the next import)."
    ),
    "import_no_order_id": lazy_gettext("Set a column to the order number."),
    "import_no_order_customer": lazy_gettext(
        "Set a column to the customer's user id, phone or e-mail, so each order finds its customer."
    ),
    "import_no_key_in_row": lazy_gettext(
        "The row has no user id, phone or e-mail to recognise the customer by."
    ),
    "import_customer_unknown": lazy_gettext("No customer has the Huike id %(value)s."),
    "owner_unknown": lazy_gettext("%(value)s is not a member of the shop."),
    "import_datetime_invalid": lazy_gettext(
        "Enter a date like 2026-11-22, or a date and time like 2026-11-22 10:30."
    ),
    "import_conflict": lazy_gettext(
        "The row clashed with a change made at the same moment. Import the file again."
    ),
    "import_done": lazy_gettext("This file has been imported already."),
    "import_name_conflict": lazy_gettext(
        "Its phone or e-mail is %(known)s's, whose name differs: not imported. Import the row "
        "again and choose whether to update %(known)s, add a new customer or skip it."
    ),
    "import_conflict_unchosen": lazy_gettext(
        "Choose what to do with row %(row)s, or one choice for every conflict."
    ),
    # the shops' REST API (/api/v1)
    "api_key_missing": lazy_gettext("Send your API key as: Authorization: Bearer <key>."),
    "api_key_invalid": lazy_gettext("This API key is wrong or was revoked."),
    "content_type_invalid": lazy_gettext(
        "Send the body as JSON, with Content-Type: application/json."
    ),
    "json_invalid": lazy_gettext("The body is not valid JSON."),
    "key_unknown": lazy_gettext("%(key)s is not known here: check its spelling."),
    "type_invalid": lazy_gettext("Give a value of this type: %(expected)s."),
    "quantity_invalid": lazy_gettext("Give a whole number from 1 to %(max)s."),
    "param_unknown": lazy_gettext("%(key)s is not a parameter here: check its spelling."),
    "param_repeated": lazy_gettext("Give %(key)s once."),
    "limit_invalid": lazy_gettext("Give a page size from 1 to %(max)s."),
    "customer_empty": lazy_gettext(
        "Give the customer at least a name, an external id, a phone number or an e-mail."
    ),
    "customer_merged": lazy_gettext(
        "This customer was merged into customer %(merged_into)s: change that one instead."
    ),
    # calls: connecting a phone provider (app/calls/connections.py)
    "call_signing_invalid": lazy_gettext("Choose signed requests or the URL's token only."),
    "call_token_mode": lazy_gettext(
        "This connection checks the URL's token, which has no secret to rotate. To change the "
        "URL, add a new connection and delete this one."
    ),
    "call_previous_live": lazy_gettext(
        "Two secrets are live already: retire the previous one first, then rotate again."
    ),
    "call_no_previous": lazy_gettext("There is no previous secret to retire."),
    "call_not_generic": lazy_gettext("Only a PBX connection has signing secrets."),
    "call_not_twilio": lazy_gettext("This connection is not a Twilio one."),
    "call_twilio_exists": lazy_gettext(
        "Your shop is connected to Twilio already: replace its account or auth token instead."
    ),
    "call_sid_invalid": lazy_gettext(
        "An Account SID is AC followed by 32 characters 0-9 and a-f: copy it from Twilio's console."
    ),
    "call_auth_token_invalid": lazy_gettext(
        "An auth token is 32 characters 0-9 and a-f: copy it from Twilio's console."
    ),
    "call_number_invalid": lazy_gettext(
        "Enter a valid phone number: with its country code like +86 400 800 1234, or a number of "
        "your shop's country."
    ),
    "call_number_taken": lazy_gettext("%(number)s is one of the shop's numbers already."),
    "call_agent_invalid": lazy_gettext("Choose an active member of the shop."),
    "call_line_empty": lazy_gettext("Give an extension, a phone number or both."),
    "call_extension_invalid": lazy_gettext(
        "An extension is up to 20 letters, digits or * # . _ - (like 801)."
    ),
    "call_extension_taken": lazy_gettext("Another agent has the extension %(extension)s."),
    "call_phone_taken": lazy_gettext("Another agent's line has the phone %(number)s."),
    # calls: the screen pop
    "call_not_ringing": lazy_gettext("This call is no longer ringing: it was taken, or it ended."),
    "call_number_unreadable": lazy_gettext(
        "The caller's number is not a phone number a customer can have (hidden, or an extension)."
    ),
    "call_number_held": lazy_gettext(
        "This number already belongs to another customer: open that customer, or merge the two."
    ),
    "call_number_limit": lazy_gettext(
        "That customer has %(max)s phone numbers already: remove one on their record first."
    ),
    "call_outcome_invalid": lazy_gettext("Choose one of the outcomes listed."),
    # call tasks and follow-up rules (app/calls/tasks.py, follow_ups.py)
    "task_done": lazy_gettext("This task is already done."),
    "outcome_invalid": lazy_gettext("Choose how the call went."),
    "task_due_invalid": lazy_gettext("Give a date and time, like 2026-12-20 15:30."),
    "task_customer_invalid": lazy_gettext("This customer is not one of your shop's."),
    "task_call_invalid": lazy_gettext("This call is not one of your shop's."),
    "task_phone_required": lazy_gettext("Give a phone number to call."),
    "assignee_invalid": lazy_gettext(
        "Choose an active member of your shop, or anyone (the queue)."
    ),
    "snooze_past": lazy_gettext("Choose a time that is still to come."),
    "snooze_invalid": lazy_gettext("Choose when the task comes back."),
    "follow_up_days_invalid": lazy_gettext("Give a number of days from 0 to %(max)s."),
    # the robot's unanswered questions log (app/robot/unanswered.py)
    "robot_days_invalid": lazy_gettext("Give a period of 1 to %(max)s days."),
    "robot_log_kind_invalid": lazy_gettext(
        "Choose knowledge gaps or visitors who asked for a person."
    ),
    "robot_page_invalid": lazy_gettext("Give a page number of 1 or more."),
    "robot_entry_required": lazy_gettext("Name the entry: its question or #id."),
    "robot_entry_unknown": lazy_gettext(
        "No entry of the knowledge base has the question or id %(value)s."
    ),
    # robot: the knowledge base's import and settings pages (app/robot/kb_import.py, settings.py)
    "robot_import_columns": lazy_gettext(
        "The first row must name the columns; this file has no %(columns)s column "
        "(question/问题, answer/答案)."
    ),
    "robot_import_repeated": lazy_gettext("The same question is in row %(row)s already."),
    "robot_import_nothing": lazy_gettext("No row of this file can be imported."),
    "robot_threshold_invalid": lazy_gettext("Give a number from 0 to 1, or leave it blank."),
    "robot_thresholds_order": lazy_gettext(
        "The suggest threshold must not be above the answer threshold."
    ),
    "robot_mode_invalid": lazy_gettext("Choose one of the modes listed."),
    # analytics: a report's period, cut and attribution (app/analytics/reports.py)
    "range_invalid": lazy_gettext("The start must not be after the end."),
    "range_too_long": lazy_gettext("Choose a period of at most %(max)s days."),
    "dimension_invalid": lazy_gettext("Choose channel, source, keyword, campaign or landing_page."),
    "model_invalid": lazy_gettext("Choose first (first touch) or last (last touch)."),
    "sort_invalid": lazy_gettext("Sort by one of the table's columns, up or down."),
}


def message_for(error: ServiceError) -> str:
    template = MESSAGES.get(error.code)
    if template is None:
        return gettext("Something went wrong (%(code)s).", code=error.code)
    return str(template) % error.params if error.params else str(template)
