-- The agenda asks for the providers who work at one location: a group's users are limited to
-- their clinics, and reading every limit of a 200-clinic organization per page cost the agenda
-- most of its time.

CREATE INDEX user_locations_location ON user_locations (location_id, user_id);
