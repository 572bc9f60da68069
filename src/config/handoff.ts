// Limits and defaults for src/handoff. Each constant: unit last in the name, and a sentence on why.
export {};
