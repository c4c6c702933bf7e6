"""Web Push to agents' devices: a phone or a closed tab still hears of a new chat, a message in
their chats, a left message, a ringing call or a due task. Free, as the chat is; the paid
modules (calls) ask ``app.push.notify`` for their own notices.

A module's event queues a job (never work inside the request); the job picks who is told
(``notices.py``), skips an agent who already sees it, folds a storm into one notice per
conversation and minute (``service.py``), and writes one outbox row per device; the outbox
sends it signed (VAPID) and encrypted (aes128gcm) with pywebpush, and forgets a device the push
service no longer knows (404/410).
"""
