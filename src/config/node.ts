// Limits and defaults for src/node. Each constant: unit last in the name, and a sentence on why.
export {};
