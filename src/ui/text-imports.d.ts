/** `import style from "./style.css" with { type: "text" }`: Bun embeds the file's text. */
declare module "*.css" {
  const text: string;
  export default text;
}
