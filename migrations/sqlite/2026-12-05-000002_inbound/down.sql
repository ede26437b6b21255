DROP TABLE remote_moderators;
DROP TABLE inbound_activities;
