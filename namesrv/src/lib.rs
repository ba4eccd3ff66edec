//! FerroMQ name server.
