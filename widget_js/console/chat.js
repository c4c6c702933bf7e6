// The agent's conversations screen: list | open chat | visitor panel, live over /agent.
// Protocol: docs/realtime.md and app/chat/events.py. Visitor data is only ever set as text.
// Its parts (chat/) call one another, so some of their imports go in a circle. That is safe
// because loading a part only declares (page.js also opens the socket): this file attaches the
// listeners and starts the page.
import { armAttention } from "./alerts.js";
import { setNote, listenToComposer } from "./chat/composer.js";
import { listenForReading } from "./chat/conversation.js";
import { listenToCustomerPanel } from "./chat/customer-panel.js";
import { listenToServer } from "./chat/events.js";
import { listenToHeader } from "./chat/header.js";
import { listenToTabs, renderList } from "./chat/list.js";
import { listenToPanes } from "./chat/panes.js";
import { drawSound, drawStatus, listenToStatusAndSound } from "./chat/presence.js";
import { listenForFiles } from "./chat/uploads.js";
import { reportView } from "./chat/view.js";
import { tickTimeOnSite } from "./chat/visitor-panel.js";
import { listenForSuggestions } from "./robot.js";

armAttention();
listenToTabs();
listenToHeader();
listenToPanes();
listenToComposer();
listenForFiles();
listenForReading();
listenToCustomerPanel();
listenToStatusAndSound();
listenToServer();
listenForSuggestions();
reportView();
tickTimeOnSite();

drawStatus();
drawSound();
setNote(false);
renderList();
// stale drafts fade from the list by themselves
setInterval(renderList, 15000);
