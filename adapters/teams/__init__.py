"""Microsoft Teams on the Bot Framework SDK (botbuilder 4.17.1). Every botbuilder import of the project
lives in this package, so that the Microsoft 365 Agents SDK can replace it alone (docs/decisions.md)."""
