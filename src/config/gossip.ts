// Limits and defaults for src/gossip. Each constant: unit last in the name, and a sentence on why.
export {};
