// Compiles assets/app.scss with GOV.UK Frontend into static/, and copies the Frontend's
// JavaScript and images beside it: everything the pages load comes from the app itself.
import { copyFileSync, cpSync, mkdirSync, writeFileSync } from "node:fs";
import * as sass from "sass";

const frontend = "node_modules/govuk-frontend/dist/govuk";
mkdirSync("static/govuk/images", { recursive: true });
const css = sass.compile("assets/app.scss", {
  loadPaths: ["node_modules"],
  style: "compressed",
  quietDeps: true,
  silenceDeprecations: ["import"],
});
writeFileSync("static/app.css", css.css);
copyFileSync(`${frontend}/govuk-frontend.min.js`, "static/govuk/govuk-frontend.min.js");
copyFileSync("assets/init.js", "static/init.js");
for (const image of ["favicon.ico", "favicon.svg", "govuk-icon-mask.svg", "govuk-icon-180.png"]) {
  copyFileSync(`${frontend}/assets/images/${image}`, `static/govuk/images/${image}`);
}
console.log("web assets built into services/web/static");
