package store

// WindowsQuery is the window query every authorize and snapshot runs, for the plan test.
var WindowsQuery = windowsQuery
