// Limits and defaults for src/api. Each constant: unit last in the name, and a sentence on why.
export {};
