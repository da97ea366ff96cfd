// Package pki makes and checks the certificates of a Shoal cluster.
//
// Every certificate is signed by one cluster CA and names its holder's role
// and identity in a URI subject alternative name: shoal://node/<id> for storage
// nodes, shoal://client/<name> for services and tools. Peers are identified by
// that URI, not by host names: nodes move between addresses, and the driver
// learns node ids from the ring. A node certificate can act as TLS server and
// client (nodes dial each other); a client certificate only as TLS client, so it
// can never pose as a node.
package pki
