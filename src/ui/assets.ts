import { dashboardScript } from "./bundle.ts" with { type: "macro" };
import pageText from "./index.html" with { type: "text" };
import style from "./style.css" with { type: "text" };

// Bun's types call every .html import a bundle for Bun.serve; imported as text, it is the file's text.
const page = pageText as unknown as string;

/** The dashboard's three files, inside the executable: nothing is fetched from anywhere but Bay. */
export const DASHBOARD_ASSETS = {
  page,
  script: dashboardScript(),
  style,
};
