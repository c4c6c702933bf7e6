"""Calls (paid): the shop's phone numbers on the console's screen — provider webhooks drive one
call record per call, ringing calls pop up with the caller's record, missed calls become
callback tasks, and the widget asks for free callbacks."""
