#!/usr/bin/env node
// Launcher for the compiled CLI; also installed as the kubectl plugin `kubectl-belay`.
import { main } from "../dist/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
