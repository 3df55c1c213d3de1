#!/usr/bin/env bun
import { runMain } from "citty";
import { consola } from "consola";
import { mainCommand } from "./cli/main.ts";

process.on("unhandledRejection", (reason) => consola.error("unhandled rejection", reason));

void runMain(mainCommand);
