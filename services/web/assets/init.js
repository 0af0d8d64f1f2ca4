// Progressive enhancement only: every page and form works without JavaScript.
import { initAll } from "/static/govuk/govuk-frontend.min.js";
initAll();
