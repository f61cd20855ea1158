#!/usr/bin/env node
// Entry point for the installed package: runs the compiled agent.
import '../dist/main.js';
