"""Live chat (free): the widget's API, the real-time core, and the chat parts of the console."""
