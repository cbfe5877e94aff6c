// The saga console's entry point, bundled by gateway/console-assets.ts and served at /console.
import { render } from "preact";
import { App } from "./app.js";

const root = document.getElementById("root");
if (root) {
  root.textContent = "";
  render(<App />, root);
}
